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
 * names become `<namespace>/<name>/<receiver>`.
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
interface AmcSpec {
  route: AmcRoute;
  receivers: { name: string; webhookConfigs?: { url: string; sendResolved?: boolean }[] }[];
}

/** `urls`: one webhook per orchestrator replica (Alertmanager notifies every webhook of a receiver). */
export function alertmanagerConfig(namespace: string, urls: string | readonly string[]): KubeObject {
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
    receivers: [{ name: ORCHESTRATOR_RECEIVER, webhookConfigs: (typeof urls === 'string' ? [urls] : urls).map((url) => ({ url, sendResolved: true })) }],
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

/**
 * What prometheus-operator writes into the Alertmanager's configuration for these
 * AlertmanagerConfigs on top of `base`. `rewriteUrl` lets a drill point webhooks at a local
 * process; `timings` lets it compress group intervals (the routing tree stays as generated).
 */
export function operatorAlertmanagerConfig(
  amcs: readonly KubeObject[],
  base: AlertmanagerYaml = KUBE_PROMETHEUS_STACK_BASE,
  opts: { rewriteUrl?: (url: string) => string; timings?: { group_wait: string; group_interval: string; repeat_interval: string } } = {},
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
              webhook_configs: r.webhookConfigs.map((w) => ({ url: opts.rewriteUrl ? opts.rewriteUrl(w.url) : w.url, send_resolved: w.sendResolved ?? false })),
            }
          : {}),
      });
    }
  }
  const baseRoutes = (base.route.routes as Record<string, unknown>[] | undefined) ?? [];
  return { route: { ...base.route, routes: [...subRoutes, ...baseRoutes] }, receivers: [...base.receivers, ...receivers], templates: base.templates };
}
