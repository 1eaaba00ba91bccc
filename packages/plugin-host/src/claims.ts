/**
 * Path claims: every output path belongs to one plugin, stays inside the environment
 * directory, and every DC or service an output is scoped to exists.
 */
import type { Environment } from '@topoforge/model';
import { pathProblem } from './paths.js';

export type Complaint = (code: 'PLUGIN_PATH_ESCAPE' | 'PLUGIN_PATH_CONFLICT' | 'PLUGIN_INVALID_OBJECT', message: string, hint?: string) => void;

export const PATH_CONFLICT_HINT = 'give each output its own path (e.g. include the DC or service name)';

/** What `plugin` is told when it writes `path`, which `other` (maybe itself) wrote before. */
export const pathConflict = (plugin: string, other: string, path: string): string =>
  other === plugin ? `writes "${path}" twice` : `writes "${path}", which plugin "${other}" already wrote`;

export class Claims {
  private readonly owner = new Map<string, string>();
  private readonly dcs: ReadonlySet<string>;
  private readonly services: ReadonlySet<string>;

  constructor(env: Environment) {
    this.dcs = new Set(env.dataCenters.map((d) => d.name));
    this.services = new Set(env.services.map((s) => s.name));
  }

  /** Claims `path` for `plugin`; false (with a complaint) when it is not acceptable or taken. */
  claim(plugin: string, path: string, complain: Complaint): boolean {
    const why = pathProblem(path);
    if (why) {
      complain('PLUGIN_PATH_ESCAPE', `cannot write "${path}": ${why}`, 'emit paths relative to the environment directory');
      return false;
    }
    const other = this.owner.get(path);
    if (other !== undefined) {
      complain('PLUGIN_PATH_CONFLICT', pathConflict(plugin, other, path), PATH_CONFLICT_HINT);
      return false;
    }
    this.owner.set(path, plugin);
    return true;
  }

  /** How many paths are claimed. */
  get size(): number {
    return this.owner.size;
  }

  /** The plugin that claimed `path`, if one did. */
  ownerOf(path: string): string | undefined {
    return this.owner.get(path);
  }

  /** Releases the paths of a plugin that failed, so nothing half-done stays claimed. */
  release(plugin: string): void {
    for (const [path, p] of this.owner) if (p === plugin) this.owner.delete(path);
  }

  scope(service: string | undefined, dc: string | undefined, complain: Complaint): boolean {
    if (dc !== undefined && !this.dcs.has(dc)) {
      complain('PLUGIN_INVALID_OBJECT', `emits for unknown data centre "${dc}"`, `known: ${[...this.dcs].join(', ')}`);
      return false;
    }
    if (service !== undefined && !this.services.has(service)) {
      complain('PLUGIN_INVALID_OBJECT', `emits for unknown service "${service}"`);
      return false;
    }
    return true;
  }
}
