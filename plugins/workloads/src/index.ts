/**
 * The workloads themselves: per service, in every DC where it runs, the Deployment from
 * `image:version`, its Service (unless Flagger makes it), Ingress, HPA and
 * PodDisruptionBudget. A version bump in the model changes exactly one line per DC — the
 * Deployment's image — which is what starts a Flagger canary. See README.md.
 */
import { definePlugin, Type } from '@topoforge/plugin-sdk';
import { PLATFORM_PRIORITY_CLASS, priorityClassName } from '@topoforge/plugin-traffic-alerts';
import { quantity, resolveWorkload, SESSION_CACHE_CONFIGMAP } from './defaults.js';
import { autoscaler, deployment, disruptionBudget, flaggerOwnsService, ingress, service } from './objects.js';

export * from './objects.js';
export { defaultsFor, resolveWorkload, quantity, SESSION_CACHE_CONFIGMAP, type ResolvedWorkload, type WorkloadDefaults } from './defaults.js';
export { PLATFORM_PRIORITY_CLASS };

const path = (description: string, def: string) => Type.String({ default: def, pattern: '^/', description });

export const Options = Type.Object(
  {
    domain: Type.String({
      default: 'example.com',
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$',
      description: 'client-facing services without workload.host get <service>.<domain>',
    }),
    ingressClassName: Type.String({ default: 'nginx', minLength: 1 }),
    servicePort: Type.Integer({
      default: 80,
      minimum: 1,
      maximum: 65535,
      description: 'port of each Service (Flagger uses its own servicePort for the ones it creates: keep them equal)',
    }),
    livenessPath: path('default liveness and startup probe path', '/healthz'),
    readinessPath: path('default readiness probe path', '/readyz'),
  },
  { additionalProperties: false },
);

export default definePlugin({
  name: 'workloads',
  description: "Each service's Deployment, Service, Ingress, HPA and PodDisruptionBudget in every DC where it runs.",
  // traffic-alerts emits the PriorityClasses the pods reference. Optional (`?`): without it, render names each
  // PriorityClass nobody emits (below) instead of refusing the plugin order.
  after: ['traffic-alerts?'],
  options: Options,
  render(ctx) {
    const env = ctx.env;
    const o = ctx.options;
    const classes = new Set(
      ctx.emitted().flatMap((e) => (e.type === 'object' && e.object.kind === 'PriorityClass' ? [`${e.dc}/${e.object.metadata.name}`] : [])),
    );
    let ok = true;
    for (const s of env.services) {
      const p = `services.${s.name}.workload`;
      const w = resolveWorkload(s, o);
      (s.workload?.envFrom ?? []).forEach((c, i) => {
        if (c === SESSION_CACHE_CONFIGMAP && !s.policies.sessionCache) {
          ok = false;
          ctx.error(`${s.name} reads ConfigMap ${c}, which exists only for services with a sessionCache policy`, {
            field: `${p}.envFrom.${i}`,
            hint: 'add policies.sessionCache to the service, or remove it from envFrom',
          });
        }
      });
      for (const r of ['cpu', 'memory'] as const) {
        if (quantity(w.requests[r]) > quantity(w.limits[r])) {
          ok = false;
          const field = s.workload?.resources?.requests?.[r] !== undefined ? `${p}.resources.requests.${r}` : `${p}.resources.limits.${r}`;
          ctx.error(`${s.name} requests ${w.requests[r]} ${r} but is limited to ${w.limits[r]}`, {
            field,
            hint: 'a request above its limit is refused by the API server; raise the limit or lower the request',
          });
        }
      }
      if (w.replicas.min > w.replicas.max) {
        ok = false;
        ctx.error(`${s.name}: default replicas.max ${w.replicas.max} is below replicas.min ${w.replicas.min}`, {
          field: `${p}.replicas`,
          hint: 'give both min and max',
        });
      }
    }
    if (!ok) return;
    for (const dc of env.dataCenters) {
      for (const name of dc.services) {
        const s = env.services.find((x) => x.name === name)!;
        const pc = priorityClassName(s.recoveryPriority);
        if (!classes.has(`${dc.name}/${pc}`)) {
          ctx.error(`${s.name} in ${dc.name} needs PriorityClass ${pc}, which no plugin emits`, {
            field: 'plugins.traffic-alerts',
            hint: 'enable the traffic-alerts plugin: it emits the recovery PriorityClasses',
          });
          return;
        }
        const w = resolveWorkload(s, o);
        const target = { dc: dc.name };
        const own = { service: s.name };
        ctx.object(target, deployment(env, dc.name, s, w), own);
        if (!flaggerOwnsService(s)) ctx.object(target, service(s, o), own);
        if (w.host) ctx.object(target, ingress(s, w.host, o), own);
        ctx.object(target, autoscaler(s, w), own);
        ctx.object(target, disruptionBudget(s), own);
      }
    }
  },
  plan(ctx) {
    const rows = ctx.env.services.map((s) => {
      const w = resolveWorkload(s, ctx.options);
      return `${s.name.padEnd(16)} ${`${s.image.split('/').pop()}:${s.version}`.padEnd(24)} ${`${w.replicas.min}-${w.replicas.max}`.padEnd(6)} ${`${w.requests.cpu}/${w.requests.memory}`.padEnd(12)} ${priorityClassName(s.recoveryPriority).padEnd(22)} ${w.host ?? '(internal)'}`;
    });
    const head = `${'service'.padEnd(16)} ${'image'.padEnd(24)} ${'pods'.padEnd(6)} ${'requests'.padEnd(12)} ${'priority class'.padEnd(22)} host`;
    return [{ title: 'Workloads', body: `${head}\n${rows.join('\n')}\n` }];
  },
});
