/** Emitted items → file contents in path order (objects as deterministic YAML). */
import type { Diagnostic } from '@topoforge/model';
import type { Emitted } from '@topoforge/plugin-contract';
import { toYaml } from '@topoforge/yaml-emit';
import { byString } from './freeze.js';

export type Files = Map<string, { content: string; plugin: string }>;

export function serialize(emitted: Emitted[]): { files: Files; diagnostics: Diagnostic[] } {
  emitted.sort((a, b) => byString(a.path, b.path));
  const files: Files = new Map();
  for (const e of emitted) {
    try {
      files.set(e.path, { content: e.type === 'object' ? toYaml(e.object) : e.content, plugin: e.plugin });
    } catch (err) {
      return { files, diagnostics: [{ code: 'PLUGIN_INVALID_OBJECT', plugin: e.plugin, message: `cannot serialize ${e.path}: ${(err as Error).message}` }] };
    }
  }
  return { files, diagnostics: [] };
}
