/**
 * Global load balancing with k8gb: one Gslb per client-facing service, identical in every DC
 * cluster, strategy `roundRobin` with a weight per DC. Every DC serves its share of clients
 * (a distributed network, not a primary with standbys); k8gb additionally drops a cluster
 * whose endpoints are unhealthy. Each cluster's k8gb runs with its own geo tag — the DC name
 * (`k8gb.clusterGeoTag=<dc>` in the k8gb Helm values) — because k8gb needs one tag per
 * cluster, and the weight map is keyed by those tags. The failover orchestrator drains a DC
 * for a service by setting its weight to 0 in every cluster's Gslb, and restores it on
 * failback. See README.md ("Global load balancing").
 */
import type { KubeObject } from '@topoforge/plugin-sdk';
import type { Service } from '@topoforge/model';

/** The k8gb geo tag of a DC's cluster: unique per cluster. */
export const gslbGeoTag = (dc: string): string => dc;

export function gslb(s: Service, o: { dnsTtlSeconds: number; weight: number }): KubeObject {
  return {
    apiVersion: 'k8gb.io/v1beta1',
    kind: 'Gslb',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      resourceRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: s.name },
      strategy: { type: 'roundRobin', dnsTtlSeconds: o.dnsTtlSeconds, weight: Object.fromEntries(s.dataCenters.map((dc) => [gslbGeoTag(dc), o.weight])) },
    },
  };
}
