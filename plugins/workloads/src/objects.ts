/**
 * The objects of one service in one DC, as pure functions, so tests and other plugins can
 * build one without running the plugin.
 */
import { LABEL_DC, LABEL_ENVIRONMENT, LABEL_RECOVERY_PRIORITY, LABEL_SERVICE, LABEL_TIER, type KubeObject } from '@topoforge/plugin-sdk';
import type { Environment, Service } from '@topoforge/model';
import { priorityClassName } from '@topoforge/plugin-traffic-alerts';
import { SESSION_CACHE_CONFIGMAP, type ResolvedWorkload } from './defaults.js';

/** The label Flagger selects on (in its default `-selector-labels`) and rewrites to `<name>-primary`. */
export const NAME_LABEL = 'app.kubernetes.io/name';
export const PORT_NAME = 'http';

export interface WorkloadOptions {
  readonly servicePort: number;
  readonly ingressClassName: string;
}

/** Flagger owns the Service (it creates `<name>`, `<name>-primary` and `<name>-canary`) for canary rollouts. */
export const flaggerOwnsService = (s: Service): boolean => s.rollout === 'canary';

/** Labels every pod carries: what dashboards, log pipelines and the gate group by. Never the version, so a bump changes only the image. */
export function podLabels(env: Environment, dc: string, s: Service): Record<string, string> {
  return {
    [NAME_LABEL]: s.name,
    [LABEL_ENVIRONMENT]: env.name,
    [LABEL_DC]: dc,
    [LABEL_SERVICE]: s.name,
    [LABEL_TIER]: s.tier,
    [LABEL_RECOVERY_PRIORITY]: String(s.recoveryPriority),
  };
}

function probe(path: string, periodSeconds: number, failureThreshold: number): Record<string, unknown> {
  return { httpGet: { path, port: PORT_NAME }, periodSeconds, timeoutSeconds: 2, failureThreshold };
}

export function deployment(env: Environment, dc: string, s: Service, w: ResolvedWorkload): KubeObject {
  const labels = podLabels(env, dc, s);
  const spread = (topologyKey: string) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: { [LABEL_SERVICE]: s.name } },
    matchLabelKeys: ['pod-template-hash'],
  });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: s.name,
      namespace: s.namespace,
      labels: { [NAME_LABEL]: s.name, [LABEL_TIER]: s.tier, [LABEL_RECOVERY_PRIORITY]: String(s.recoveryPriority) },
    },
    spec: {
      // No `replicas`: the HPA owns it (and, for canaries, Flagger scales this target to zero);
      // a value here would make every GitOps sync fight them.
      revisionHistoryLimit: 5,
      selector: { matchLabels: { [NAME_LABEL]: s.name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          priorityClassName: priorityClassName(s.recoveryPriority),
          terminationGracePeriodSeconds: 30,
          // `topoforge.io/service` rather than the name label: Flagger rewrites that one on the primary, and
          // primary and canary pods should spread as one set. ScheduleAnyway: a DC with one zone still schedules.
          topologySpreadConstraints: [spread('topology.kubernetes.io/zone'), spread('kubernetes.io/hostname')],
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: s.name,
              image: `${s.image}:${s.version}`,
              ports: [{ name: PORT_NAME, containerPort: s.port, protocol: 'TCP' }],
              ...(w.envFrom.length ? { envFrom: w.envFrom.map((name) => ({ configMapRef: { name } })) } : {}),
              // The session cache's ACL user password: a reference to the Secret the platform's secret
              // store provides in the service's namespace (plugins/session-cache README), never a value.
              ...(s.policies.sessionCache
                ? { env: [{ name: 'SESSION_CACHE_PASSWORD', valueFrom: { secretKeyRef: { name: SESSION_CACHE_CONFIGMAP, key: 'password' } } }] }
                : {}),
              resources: { requests: { ...w.requests }, limits: { ...w.limits } },
              startupProbe: probe(w.probes.liveness, 5, Math.ceil(w.probes.startupSeconds / 5)),
              livenessProbe: probe(w.probes.liveness, 10, 3),
              readinessProbe: probe(w.probes.readiness, 5, 3),
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

export function service(s: Service, o: WorkloadOptions): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace },
    spec: { type: 'ClusterIP', selector: { [NAME_LABEL]: s.name }, ports: [{ name: PORT_NAME, port: o.servicePort, targetPort: PORT_NAME, protocol: 'TCP' }] },
  };
}

/** The Ingress k8gb fails over and, for canaries with an ingress provider, the one Flagger copies into `<name>-canary`. */
export function ingress(s: Service, host: string, o: WorkloadOptions): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      ingressClassName: o.ingressClassName,
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: s.name, port: { number: o.servicePort } } } }] } }],
    },
  };
}

export function autoscaler(s: Service, w: ResolvedWorkload): KubeObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: s.name, namespace: s.namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: s.name },
      minReplicas: w.replicas.min,
      maxReplicas: w.replicas.max,
      metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: w.cpuUtilization } } }],
    },
  };
}

/** For canaries the pods that serve are Flagger's primary, labelled `<name>-primary`. */
export function disruptionBudget(s: Service): KubeObject {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name: s.name, namespace: s.namespace },
    spec: { maxUnavailable: 1, selector: { matchLabels: { [NAME_LABEL]: flaggerOwnsService(s) ? `${s.name}-primary` : s.name } } },
  };
}
