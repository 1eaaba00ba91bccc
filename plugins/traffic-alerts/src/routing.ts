/**
 * Alert routing to the failover orchestrator, and the Alertmanager configuration that
 * prometheus-operator generates from it — so tests and drills can run the real Alertmanager
 * (`amtool config routes test`, a real `alertmanager` process) on exactly what the cluster
 * would run.
 *
 * The transformation follows prometheus-operator's `pkg/alertmanager/amcfg.go`
 * (`convertRoute`, `enforceNamespaceForRoute`, `makeNamespacedString`) for the default
 * `alertmanagerConfigMatcherStrategy: OnNamespace`: each AlertmanagerConfig's route becomes a
 * first-level child of the root route, placed before the base config's own routes, with the
 * CR's matchers followed by `namespace="<the CR's namespace>"` and `continue: true`; receiver
 * names become `<namespace>/<name>/<receiver>`. A webhook's `httpConfig.authorization` becomes
 * `http_config.authorization: {type, credentials}` with the value of the referenced Secret key,
 * read from **the AlertmanagerConfig's own namespace** (`convertHTTPConfig`:
 * `store.GetSecretKey(ctx, crKey.Namespace, *in.Authorization.Credentials)`); type defaults to
 * Bearer; an empty value sets no authorization; a missing Secret or key fails the conversion.
 */
import type { KubeObject } from '@topoforge/plugin-sdk';
import { byString } from '@topoforge/model';
import { ACTION_LABEL, FAILBACK_ACTION, FAILOVER_ACTION } from './rules.js';

export const ORCHESTRATOR_RECEIVER = 'failover-orchestrator';

interface Matcher {
  name: string;
  value: string;
  matchType: '=' | '!=' | '=~' | '!~';
}
interface AmcRoute {
  receiver: string;
  matchers?: Matcher[];
  groupBy?: string[];
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  routes?: AmcRoute[];
}
/** A key of a Secret in the AlertmanagerConfig's namespace (monitoringv1 SecretKeySelector). */
export interface SecretKeyRef {
  readonly name: string;
  readonly key: string;
}
interface AmcWebhook {
  url: string;
  sendResolved?: boolean;
  httpConfig?: { authorization?: { type?: string; credentials?: SecretKeyRef } };
}
interface AmcSpec {
  route: AmcRoute;
  receivers: { name: string; webhookConfigs?: AmcWebhook[] }[];
}

/**
 * `urls`: one webhook per orchestrator replica (Alertmanager notifies every webhook of a
 * receiver). `token`: the Secret key whose value Alertmanager sends as `Authorization: Bearer`
 * (a reference; the Secret lives in `namespace`, the operator reads it from there only).
 */
export function alertmanagerConfig(namespace: string, urls: string | readonly string[], token?: SecretKeyRef): KubeObject {
  const httpConfig = token ? { httpConfig: { authorization: { type: 'Bearer', credentials: { name: token.name, key: token.key } } } } : {};
  const spec: AmcSpec = {
    route: {
      receiver: ORCHESTRATOR_RECEIVER,
      matchers: [{ name: ACTION_LABEL, value: `${FAILOVER_ACTION}|${FAILBACK_ACTION}`, matchType: '=~' }],
      // One group per alert and DC: a new loss notifies at once instead of waiting for a group interval.
      groupBy: ['alertname', 'service', 'dc'],
      groupWait: '0s',
      groupInterval: '1m',
      repeatInterval: '5m',
    },
    receivers: [
      { name: ORCHESTRATOR_RECEIVER, webhookConfigs: (typeof urls === 'string' ? [urls] : urls).map((url) => ({ url, sendResolved: true, ...httpConfig })) },
    ],
  };
  return {
    apiVersion: 'monitoring.coreos.com/v1alpha1',
    kind: 'AlertmanagerConfig',
    metadata: { name: 'failover-orchestrator', namespace },
    spec: spec as unknown as Record<string, unknown>,
  };
}

/** Go's strconv.Quote for the printable ASCII the matchers use. */
const goQuote = (s: string): string => JSON.stringify(s);

/** `monitoringv1alpha1.Matcher.String()`: name, match type, quoted value. */
const matcherString = (m: Matcher): string => `${m.name}${m.matchType}${goQuote(m.value)}`;

export interface AlertmanagerYaml {
  route: Record<string, unknown>;
  receivers: Record<string, unknown>[];
  templates: string[];
}

/** The base configuration of a default kube-prometheus-stack: everything else goes to "null". */
export const KUBE_PROMETHEUS_STACK_BASE: AlertmanagerYaml = {
  route: {
    receiver: 'null',
    group_by: ['namespace'],
    group_wait: '30s',
    group_interval: '5m',
    repeat_interval: '12h',
    routes: [{ receiver: 'null', matchers: ['alertname = "Watchdog"'] }],
  },
  receivers: [{ name: 'null' }],
  templates: [],
};

function convertRoute(r: AmcRoute, ns: string, name: string, top: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { receiver: `${ns}/${name}/${r.receiver}` };
  const matchers = (r.matchers ?? []).map(matcherString);
  if (top) matchers.push(matcherString({ name: 'namespace', value: ns, matchType: '=' }));
  if (matchers.length > 0) out.matchers = matchers;
  if (r.groupBy) out.group_by = r.groupBy;
  if (r.groupWait) out.group_wait = r.groupWait;
  if (r.groupInterval) out.group_interval = r.groupInterval;
  if (r.repeatInterval) out.repeat_interval = r.repeatInterval;
  if (r.routes) out.routes = r.routes.map((c) => convertRoute(c, ns, name, false));
  if (top) out.continue = true;
  return out;
}

/** The operator could not convert an AlertmanagerConfig (it then leaves it out and reports it invalid). */
export class OperatorConfigError extends Error {}

/** `store.GetSecretKey`: the value of a key of a Secret (`data` base64, or `stringData`) in one namespace. */
function secretKey(secrets: readonly KubeObject[], namespace: string, ref: SecretKeyRef, amc: string): string {
  const s = secrets.find((x) => x.kind === 'Secret' && x.metadata.namespace === namespace && x.metadata.name === ref.name);
  if (!s) throw new OperatorConfigError(`${amc}: failed to get Authorization credentials: secret "${ref.name}" not found in namespace "${namespace}"`);
  const data = (s['data'] ?? {}) as Record<string, string>;
  const stringData = (s['stringData'] ?? {}) as Record<string, string>;
  if (ref.key in stringData) return stringData[ref.key]!;
  if (ref.key in data) return Buffer.from(data[ref.key]!, 'base64').toString('utf8');
  throw new OperatorConfigError(`${amc}: failed to get Authorization credentials: key "${ref.key}" in secret "${ref.name}" not found`);
}

/**
 * What prometheus-operator writes into the Alertmanager's configuration for these
 * AlertmanagerConfigs on top of `base`. `secrets`: the Secrets the operator would read (only
 * those in an AlertmanagerConfig's namespace count). `rewriteUrl` lets a drill point webhooks
 * at a local process; `timings` lets it compress group intervals (the routing tree stays as generated).
 */
export function operatorAlertmanagerConfig(
  amcs: readonly KubeObject[],
  base: AlertmanagerYaml = KUBE_PROMETHEUS_STACK_BASE,
  opts: {
    rewriteUrl?: (url: string) => string;
    timings?: { group_wait: string; group_interval: string; repeat_interval: string };
    secrets?: readonly KubeObject[];
  } = {},
): AlertmanagerYaml {
  const subRoutes: Record<string, unknown>[] = [];
  const receivers: Record<string, unknown>[] = [];
  for (const amc of [...amcs].sort((a, b) => byString(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`))) {
    const ns = amc.metadata.namespace!;
    const name = amc.metadata.name;
    const spec = amc.spec as unknown as AmcSpec;
    const route = convertRoute(spec.route, ns, name, true);
    if (opts.timings) Object.assign(route, opts.timings);
    subRoutes.push(route);
    for (const r of spec.receivers) {
      receivers.push({
        name: `${ns}/${name}/${r.name}`,
        ...(r.webhookConfigs
          ? {
              webhook_configs: r.webhookConfigs.map((w) => {
                const auth = w.httpConfig?.authorization;
                const credentials = auth?.credentials ? secretKey(opts.secrets ?? [], ns, auth.credentials, `${ns}/${name}`) : '';
                return {
                  url: opts.rewriteUrl ? opts.rewriteUrl(w.url) : w.url,
                  send_resolved: w.sendResolved ?? false,
                  ...(credentials !== '' ? { http_config: { authorization: { type: auth!.type || 'Bearer', credentials } } } : {}),
                };
              }),
            }
          : {}),
      });
    }
  }
  const baseRoutes = (base.route.routes as Record<string, unknown>[] | undefined) ?? [];
  return { route: { ...base.route, routes: [...subRoutes, ...baseRoutes] }, receivers: [...base.receivers, ...receivers], templates: base.templates };
}
