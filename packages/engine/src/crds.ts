/**
 * CRD validation as a render step: emitted custom resources are checked against the
 * CustomResourceDefinitions in the given directories (upstream files such as ../shared/crds,
 * or a cluster's `kubectl get crd -o yaml`). Core kinds and kinds no CRD describes are left
 * alone: the check is only as complete as the CRDs it is given.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { CrdCatalog } from '@topoforge/crd-validate';
import { fail, ok, type Diagnostic, type Result } from '@topoforge/model';
import { objectName, type OutputValidator } from '@topoforge/plugin-host';
import { crdDirectories } from './crd-dirs.js';

/** `--crds` directories, else TOPOFORGE_CRDS; undefined when none is configured. */
export function crdValidator(dirs: readonly string[] | undefined, cwd: string): Result<OutputValidator | undefined> {
  const list = crdDirectories(dirs);
  if (list.length === 0) return ok(undefined);
  const catalog = new CrdCatalog();
  const problems: Diagnostic[] = [];
  for (const d of list) {
    const abs = resolve(cwd, d);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) {
      problems.push({
        code: 'RENDER_CRD_INVALID',
        message: `CRD directory ${d} does not exist`,
        hint: 'pass --crds <dir> (repeatable) or TOPOFORGE_CRDS with directories of CustomResourceDefinition YAML',
      });
      continue;
    }
    try {
      catalog.addDir(abs);
    } catch (err) {
      problems.push({ code: 'RENDER_CRD_INVALID', message: `cannot read CRDs in ${d}: ${(err as Error).message}` });
    }
  }
  if (problems.length > 0) return fail(problems);
  const validator: OutputValidator = (e) => {
    if (e.type !== 'object' || !e.object.apiVersion.includes('.') || !catalog.has(e.object.apiVersion, e.object.kind)) return [];
    return catalog.validate(e.object).map((p) => ({
      code: 'RENDER_CRD_INVALID' as const,
      plugin: e.plugin,
      message: `${objectName(e.object)} (${e.path}) does not match its CRD ${e.object.apiVersion} ${e.object.kind}: ${p.path} ${p.message}`,
      hint: "fix the object the plugin emits; the CRD is the API server's schema",
    }));
  };
  return ok(validator);
}
