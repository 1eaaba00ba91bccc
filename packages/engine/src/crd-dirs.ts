import { delimiter } from 'node:path';

/** The CRD directories in use: `--crds`, else TOPOFORGE_CRDS. */
export function crdDirectories(dirs: readonly string[] | undefined): readonly string[] {
  return dirs && dirs.length > 0 ? dirs : (process.env.TOPOFORGE_CRDS ?? '').split(delimiter).filter((d) => d !== '');
}
