/**
 * The objects every producer writes, without topoforge: which service runs in which DC (resolved
 * once by the bench with @topoforge/model and handed to the producers as JSON), expanded into
 * the synthetic plugin's objects with the labels topoforge adds, at the paths topoforge's layout
 * gives them (`<environment>/clusters/<dc>/<plugin>/<namespace>/<kind>-<name>.yaml`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDiagnostic, loadEnvironment } from '@topoforge/model';
import { deployment } from './plugin.js';

export interface Placement {
  readonly dc: string;
  readonly service: string;
  readonly image: string;
  readonly version: string;
}

export interface Workload {
  readonly environment: string;
  readonly plugin: string;
  readonly perService: number;
  readonly note: string;
  /** In topoforge's order: DCs as declared, each DC's services as resolved. */
  readonly placements: readonly Placement[];
}

export type KubeObject = ReturnType<typeof deployment> & { metadata: { labels: Record<string, string> } };

export interface WorkloadFile {
  /** Relative to the output root. */
  readonly path: string;
  readonly dir: string;
  readonly name: string;
  readonly object: KubeObject;
}

/** Resolves the synthetic environment's placement with the model, as `topoforge render` would. */
export function workloadOf(environmentYaml: string, perService: number, note = ''): Workload {
  const r = loadEnvironment('synthetic.yaml', { cwd: '/', readFile: () => environmentYaml });
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  const env = r.value;
  const services = new Map(env.services.map((s) => [s.name, s]));
  const placements: Placement[] = [];
  for (const dc of env.dataCenters)
    for (const name of dc.services) {
      const s = services.get(name)!;
      placements.push({ dc: dc.name, service: s.name, image: s.image, version: s.version });
    }
  return { environment: env.name, plugin: 'synthetic', perService, note, placements };
}

export const objectCount = (w: Workload): number => w.placements.length * w.perService;

/** Every file, one at a time (a producer that streams holds one object at once). */
export function* workloadFiles(w: Workload): Generator<WorkloadFile> {
  for (const p of w.placements) {
    const dir = `${w.environment}/clusters/${p.dc}/${w.plugin}/${p.service}`;
    for (let i = 0; i < w.perService; i++) {
      const o = deployment(p.service, p.image, p.version, i, p.dc, w.note) as KubeObject;
      o.metadata.labels = {
        'app.kubernetes.io/managed-by': 'topoforge',
        'topoforge.io/dc': p.dc,
        'topoforge.io/environment': w.environment,
        'topoforge.io/service': p.service,
      };
      const name = `${o.kind.toLowerCase()}-${o.metadata.name}`;
      yield { path: `${dir}/${name}.yaml`, dir, name, object: o };
    }
  }
}

export const readWorkload = (file: string): Workload => JSON.parse(readFileSync(file, 'utf8')) as Workload;

/** What the streaming producers do: each object serialized and written to its path, one at a time. */
export function writeStreaming(workloadFile: string, out: string, serialize: (object: unknown) => string): void {
  const made = new Set<string>();
  for (const f of workloadFiles(readWorkload(workloadFile))) {
    if (!made.has(f.dir)) {
      mkdirSync(join(out, f.dir), { recursive: true });
      made.add(f.dir);
    }
    writeFileSync(join(out, f.path), serialize(f.object));
  }
}
