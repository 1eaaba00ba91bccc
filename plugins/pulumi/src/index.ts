/**
 * A Pulumi program per environment that applies everything the other plugins emitted:
 * one Kubernetes provider per DC cluster, the DC's manifests tier by tier (CRDs, then
 * Namespaces and PriorityClasses, then shared platform objects, then each recovery
 * priority in order) through dependsOn. Runs after every other plugin.
 *
 * The manifest list is generated into index.ts at render time (deterministic and
 * reviewable: a one-service change shows up as a one-line diff), and the program reads
 * the rendered files at `pulumi up` time relative to its own directory.
 */
import { readFileSync } from 'node:fs';
import { definePlugin, Type, type EmittedObject } from '@topoforge/plugin-sdk';
import type { Environment } from '@topoforge/model';

const template = (name: string): string => readFileSync(new URL(`../templates/${name}.hbs`, import.meta.url), 'utf8');

export const VERSIONS = { pulumi: '3.248.0', kubernetes: '4.34.2', typescript: '6.0.3', typesNode: '20.19.43' } as const;

export interface Tier {
  readonly name: string;
  readonly files: { readonly path: string; readonly service?: string }[];
}

/** Apply tiers of one DC's manifests. */
export function tiers(env: Environment, records: readonly EmittedObject[]): Tier[] {
  const priority = new Map(env.services.map((s) => [s.name, s.recoveryPriority]));
  const out: Tier[] = [
    { name: 'crds', files: [] },
    { name: 'cluster', files: [] },
    { name: 'platform', files: [] },
    ...env.recoveryOrder.map((t) => ({ name: `priority-${t.priority}`, files: [] })),
  ];
  const byName = new Map(out.map((t) => [t.name, t]));
  for (const r of records) {
    const kind = r.object.kind;
    const tier = kind === 'CustomResourceDefinition' ? 'crds' : kind === 'Namespace' || kind === 'PriorityClass' ? 'cluster' : r.service ? `priority-${priority.get(r.service)}` : 'platform';
    byName.get(tier)!.files.push({ path: r.path, ...(r.service ? { service: r.service } : {}) });
  }
  return out.filter((t) => t.files.length > 0);
}

export default definePlugin({
  name: 'pulumi',
  description: 'A Pulumi program per environment that applies every manifest, DC by DC, in recovery order.',
  after: '*',
  options: Type.Object(
    {
      directory: Type.String({ default: 'pulumi', pattern: '^[a-z0-9][a-z0-9-]*$', description: 'directory of the Pulumi project in the environment output' }),
    },
    { additionalProperties: false },
  ),
  render(ctx) {
    const env = ctx.env;
    const dir = ctx.options.directory;
    const objects = ctx.emitted().filter((e): e is EmittedObject => e.type === 'object' && e.dc !== undefined);
    const plan = env.dataCenters.map((dc) => ({ dc: dc.name, tiers: tiers(env, objects.filter((o) => o.dc === dc.name)) })).filter((p) => p.tiers.length > 0);
    const counts: Record<string, Record<string, number>> = {};
    for (const p of plan) {
      const c: Record<string, number> = {};
      for (const t of p.tiers) for (const f of t.files) c[f.service ?? 'platform'] = (c[f.service ?? 'platform'] ?? 0) + 1;
      counts[p.dc] = Object.fromEntries(Object.entries(c).sort(([a], [b]) => (a < b ? -1 : 1)));
    }
    const project = `topoforge-${env.name}`;
    // Paths in the plan are relative to the environment directory; the program lives one level down.
    ctx.template(`${dir}/index.ts`, template('index.ts'), { env: env.name, plan, counts });
    ctx.template(`${dir}/Pulumi.yaml`, template('Pulumi.yaml'), { env: env.name, project });
    ctx.template(`${dir}/tsconfig.json`, template('tsconfig.json'), {});
    ctx.file(
      `${dir}/Pulumi.${env.name}.yaml`,
      [
        `# Stack ${env.name}: the kube context of each DC cluster. No secrets here: credentials come`,
        '# from your kubeconfig; add secrets with `pulumi config set --secret` (stored encrypted).',
        'config:',
        `  ${project}:kubeContexts:`,
        ...env.dataCenters.map((d) => `    ${d.name}: ${JSON.stringify(d.cluster.context)}`),
        '',
      ].join('\n'),
    );
    ctx.file(
      `${dir}/package.json`,
      JSON.stringify(
        {
          name: project,
          private: true,
          main: 'index.ts',
          dependencies: { '@pulumi/kubernetes': VERSIONS.kubernetes, '@pulumi/pulumi': VERSIONS.pulumi },
          devDependencies: { '@types/node': VERSIONS.typesNode, typescript: VERSIONS.typescript },
        },
        null,
        2,
      ) + '\n',
    );
  },
});
