/**
 * Reading what a Deployment actually runs, from the API server, with the gate's own
 * ServiceAccount (in the cluster) or a kubeconfig (elsewhere). Every call has a deadline:
 * Flagger gives a webhook 15 s, and an API server that does not answer must turn into a
 * refusal with a reason, not into a hung hook.
 */
import { AppsV1Api, KubeConfig, Observable, type V1Deployment } from '@kubernetes/client-node';

export type ReadFailure = 'timeout' | 'unreachable' | 'forbidden' | 'not-found' | 'error';
export type DeploymentRead =
  { readonly ok: true; readonly deployment: V1Deployment } | { readonly ok: false; readonly failure: ReadFailure; readonly reason: string };

/** What the gate needs from the cluster; tests may pass their own. */
export interface DeploymentReader {
  read(namespace: string, name: string): Promise<DeploymentRead>;
}

export interface KubeReaderOptions {
  /** Per-call deadline in ms. */
  readonly timeoutMs: number;
  /** kubeconfig file; in-cluster configuration when absent and running in a pod, else the default kubeconfig. */
  readonly kubeconfig?: string;
}

export function kubeConfig(file?: string): KubeConfig {
  const kc = new KubeConfig();
  if (file) kc.loadFromFile(file);
  else if (process.env['KUBERNETES_SERVICE_HOST']) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

export function kubeDeploymentReader(o: KubeReaderOptions): DeploymentReader {
  const api = kubeConfig(o.kubeconfig).makeApiClient(AppsV1Api);
  return {
    async read(namespace, name) {
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<DeploymentRead>((resolve) => {
        timer = setTimeout(() => {
          controller.abort();
          resolve({ ok: false, failure: 'timeout', reason: `the API server did not answer within ${o.timeoutMs} ms` });
        }, o.timeoutMs);
      });
      const call = api
        .readNamespacedDeployment(
          { name, namespace },
          {
            // Abort the request itself at the deadline, so a black-holed API server leaves no socket behind.
            middleware: [
              { pre: (ctx) => (ctx.setSignal(controller.signal), new Observable(Promise.resolve(ctx))), post: (r) => new Observable(Promise.resolve(r)) },
            ],
            middlewareMergeStrategy: 'append',
          },
        )
        .then((deployment): DeploymentRead => ({ ok: true, deployment }))
        .catch((err: unknown): DeploymentRead => classify(err, namespace, name));
      try {
        return await Promise.race([call, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function classify(err: unknown, namespace: string, name: string): DeploymentRead {
  const e = err as { code?: unknown; message?: string; cause?: { code?: string } };
  if (typeof e.code === 'number') {
    if (e.code === 403)
      return {
        ok: false,
        failure: 'forbidden',
        reason: `the gate may not read deployment ${namespace}/${name} (403): its Role grants get on the canaries' Deployments only`,
      };
    if (e.code === 404) return { ok: false, failure: 'not-found', reason: `deployment ${namespace}/${name} does not exist` };
    return { ok: false, failure: 'error', reason: `the API server answered ${e.code} for deployment ${namespace}/${name}` };
  }
  const msg = `${e.message ?? String(err)}${e.cause?.code ? ` (${e.cause.code})` : ''}`;
  if (/abort/i.test(msg)) return { ok: false, failure: 'timeout', reason: 'the API server call was aborted at its deadline' };
  return { ok: false, failure: 'unreachable', reason: `the API server is unreachable: ${msg}` };
}
