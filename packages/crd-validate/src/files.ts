/**
 * Which files of a CRD directory are read: one listing for CrdCatalog.addDir and for the
 * fingerprint a render's record keeps of its CRDs (engine's unitSalt), so that what `check`
 * trusts unchanged is exactly what validation read. Its own entry (no YAML parser, no ajv):
 * `check` answering from its record imports it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The YAML files (`.yaml`, `.yml`) under `dir`, recursively, in name order: dot files,
 * node_modules and links followed included, as a reader of the directory sees them.
 */
export function crdFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.yaml') || n.endsWith('.yml')) files.push(p);
    }
  };
  walk(dir);
  return files;
}
