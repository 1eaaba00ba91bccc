/**
 * The quorum lease's API on real clusters: one coordination.k8s.io/v1 Lease (default
 * `failover-orchestrator` in the orchestrator's namespace) per DC cluster, through the same
 * kubeconfig contexts the Gslb patches use. HTTP errors become coded values: 409 is a lost
 * race (`ORCHESTRATOR_LEASE_CONFLICT`), 401/403 missing RBAC, anything without a status the API server
 * being unreachable.
 */
import { CoordinationV1Api, KubeConfig, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import type { LeaseApi, LeaseError, LeaseResult, LeaseSpec, StoredLease } from './election.js';

function toError(err: unknown): LeaseError {
  const e = err as { code?: unknown; message?: unknown };
  const message = String(e.message ?? err).split('\n')[0]!;
  if (typeof e.code === 'number') {
    if (e.code === 409) return { code: 'ORCHESTRATOR_LEASE_CONFLICT', message };
    if (e.code === 401 || e.code === 403) return { code: 'ORCHESTRATOR_LEASE_FORBIDDEN', message };
    return { code: 'ORCHESTRATOR_LEASE_FAILED', message: `HTTP ${e.code}: ${message}` };
  }
  return { code: 'ORCHESTRATOR_LEASE_UNREACHABLE', message };
}

const time = (t: unknown): string | undefined => (t instanceof Date ? t.toISOString() : typeof t === 'string' ? t : undefined);

function stored(l: V1Lease): StoredLease {
  const s = l.spec ?? {};
  const spec: LeaseSpec = {
    ...(s.holderIdentity !== undefined ? { holderIdentity: s.holderIdentity } : {}),
    ...(s.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: s.leaseDurationSeconds } : {}),
    ...(time(s.acquireTime) ? { acquireTime: time(s.acquireTime)! } : {}),
    ...(time(s.renewTime) ? { renewTime: time(s.renewTime)! } : {}),
    ...(s.leaseTransitions !== undefined ? { leaseTransitions: s.leaseTransitions } : {}),
  };
  return { resourceVersion: l.metadata?.resourceVersion ?? '', spec };
}

const body = (spec: LeaseSpec) => ({
  ...(spec.holderIdentity !== undefined ? { holderIdentity: spec.holderIdentity } : {}),
  ...(spec.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: spec.leaseDurationSeconds } : {}),
  ...(spec.acquireTime ? { acquireTime: new V1MicroTime(spec.acquireTime) } : {}),
  ...(spec.renewTime ? { renewTime: new V1MicroTime(spec.renewTime) } : {}),
  ...(spec.leaseTransitions !== undefined ? { leaseTransitions: spec.leaseTransitions } : {}),
});

async function result<T>(p: Promise<T>): Promise<LeaseResult<T>> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, error: toError(err) };
  }
}

export class KubeLeaseApi implements LeaseApi {
  private readonly apis = new Map<string, CoordinationV1Api>();

  constructor(
    kubeconfigPath: string,
    contexts: readonly { dc: string; context: string }[],
    private readonly namespace: string,
    private readonly name: string,
  ) {
    for (const c of contexts) {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      kc.setCurrentContext(c.context);
      this.apis.set(c.dc, kc.makeApiClient(CoordinationV1Api));
    }
  }

  private api(dc: string): CoordinationV1Api {
    const a = this.apis.get(dc);
    if (!a) throw new RangeError(`no kubeconfig context for DC ${dc}`);
    return a;
  }

  async get(dc: string): Promise<LeaseResult<StoredLease | undefined>> {
    try {
      return { ok: true, value: stored(await this.api(dc).readNamespacedLease({ name: this.name, namespace: this.namespace })) };
    } catch (err) {
      if ((err as { code?: unknown }).code === 404) return { ok: true, value: undefined };
      return { ok: false, error: toError(err) };
    }
  }

  async create(dc: string, spec: LeaseSpec): Promise<LeaseResult<StoredLease>> {
    const r = await result(
      this.api(dc).createNamespacedLease({
        namespace: this.namespace,
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace }, spec: body(spec) },
      }),
    );
    return r.ok ? { ok: true, value: stored(r.value) } : r;
  }

  async update(dc: string, resourceVersion: string, spec: LeaseSpec): Promise<LeaseResult<StoredLease>> {
    const r = await result(
      this.api(dc).replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.name, namespace: this.namespace, resourceVersion },
          spec: body(spec),
        },
      }),
    );
    return r.ok ? { ok: true, value: stored(r.value) } : r;
  }
}
