/**
 * Acting on k8gb: the weight map of a service's Gslb, patched in every DC cluster (k8gb
 * expects the same Gslb spec everywhere). A JSON merge patch of `spec.strategy.weight` only
 * touches the weights, so other edits to the Gslb survive. The lost DC's own API server is
 * usually unreachable during a connectivity loss: a failed cluster is reported, not fatal,
 * and retried on the next tick until every cluster has the wanted weights.
 */
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export interface GslbRef {
  readonly namespace: string;
  readonly name: string;
}

export interface GslbActuator {
  /** Sets the weights of one Gslb in one DC's cluster. */
  setWeights(dc: string, ref: GslbRef, weights: Readonly<Record<string, number>>): Promise<void>;
  /** Reads them back (dry-run: what it would have set). */
  getWeights(dc: string, ref: GslbRef): Promise<Record<string, number> | undefined>;
}

/** Dry run: remembers what it would have patched, changes nothing. */
export class DryRunActuator implements GslbActuator {
  private readonly wanted = new Map<string, Record<string, number>>();
  setWeights(dc: string, ref: GslbRef, weights: Readonly<Record<string, number>>): Promise<void> {
    this.wanted.set(`${dc}/${ref.namespace}/${ref.name}`, { ...weights });
    return Promise.resolve();
  }
  getWeights(dc: string, ref: GslbRef): Promise<Record<string, number> | undefined> {
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

  async setWeights(dc: string, ref: GslbRef, weights: Readonly<Record<string, number>>): Promise<void> {
    await this.api(dc).patchNamespacedCustomObject(
      { ...GSLB, namespace: ref.namespace, name: ref.name, body: { spec: { strategy: { weight: weights } } }, fieldManager: 'topoforge-failover-orchestrator' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  async getWeights(dc: string, ref: GslbRef): Promise<Record<string, number> | undefined> {
    const o = (await this.api(dc).getNamespacedCustomObject({ ...GSLB, namespace: ref.namespace, name: ref.name })) as {
      spec?: { strategy?: { weight?: Record<string, number> } };
    };
    return o.spec?.strategy?.weight;
  }
}
