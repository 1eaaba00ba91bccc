/**
 * Acting on k8gb: the weight map of a service's Gslb, patched in every DC cluster (k8gb
 * expects the same Gslb spec everywhere). A JSON merge patch of `spec.strategy.weight` (and of
 * the back-off annotation, backoff.ts) only touches those, so other edits to the Gslb survive. The lost DC's own API server is
 * usually unreachable during a connectivity loss: a failed cluster is reported, not fatal,
 * and retried on the next tick until every cluster has the wanted weights.
 */
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { BACKOFF_ANNOTATION } from './backoff.js';

export interface GslbRef {
  readonly namespace: string;
  readonly name: string;
}

/** What the orchestrator keeps on a Gslb: the weights, and the back-off as stored (backoff.ts). */
export interface GslbState {
  readonly weights: Readonly<Record<string, number>>;
  readonly backoff?: string;
}

export interface GslbActuator {
  /** Sets the weights (and the back-off, when given) of one Gslb in one DC's cluster, in one patch. */
  write(dc: string, ref: GslbRef, state: GslbState): Promise<void>;
  /** Reads them back (dry-run: what it would have set). */
  read(dc: string, ref: GslbRef): Promise<GslbState | undefined>;
}

/** Dry run: remembers what it would have patched, changes nothing. */
export class DryRunActuator implements GslbActuator {
  private readonly wanted = new Map<string, GslbState>();
  write(dc: string, ref: GslbRef, state: GslbState): Promise<void> {
    this.wanted.set(`${dc}/${ref.namespace}/${ref.name}`, { ...state, weights: { ...state.weights } });
    return Promise.resolve();
  }
  read(dc: string, ref: GslbRef): Promise<GslbState | undefined> {
    return Promise.resolve(this.wanted.get(`${dc}/${ref.namespace}/${ref.name}`));
  }
}

const GSLB = { group: 'k8gb.io', version: 'v1beta1', plural: 'gslbs' } as const;

/** Real clusters through one kubeconfig holding a context per DC. */
export class KubeActuator implements GslbActuator {
  private readonly apis = new Map<string, CustomObjectsApi>();

  constructor(kubeconfigPath: string, contexts: readonly { dc: string; context: string }[]) {
    for (const c of contexts) {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      kc.setCurrentContext(c.context);
      this.apis.set(c.dc, kc.makeApiClient(CustomObjectsApi));
    }
  }

  private api(dc: string): CustomObjectsApi {
    const a = this.apis.get(dc);
    if (!a) throw new Error(`no kubeconfig context for DC ${dc}`);
    return a;
  }

  async write(dc: string, ref: GslbRef, state: GslbState): Promise<void> {
    // An annotation needs no more than the `patch` on gslbs the orchestrator already has.
    const body = {
      ...(state.backoff !== undefined ? { metadata: { annotations: { [BACKOFF_ANNOTATION]: state.backoff } } } : {}),
      spec: { strategy: { weight: state.weights } },
    };
    await this.api(dc).patchNamespacedCustomObject(
      { ...GSLB, namespace: ref.namespace, name: ref.name, body, fieldManager: 'topoforge-failover-orchestrator' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async read(dc: string, ref: GslbRef): Promise<GslbState | undefined> {
    const o = (await this.api(dc).getNamespacedCustomObject({ ...GSLB, namespace: ref.namespace, name: ref.name })) as {
      metadata?: { annotations?: Record<string, string> };
      spec?: { strategy?: { weight?: Record<string, number> } };
    };
    const backoff = o.metadata?.annotations?.[BACKOFF_ANNOTATION];
    return { weights: o.spec?.strategy?.weight ?? {}, ...(backoff !== undefined ? { backoff } : {}) };
  }
}
