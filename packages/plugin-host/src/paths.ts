/**
 * Output paths are relative, `/`-separated and confined to the environment's directory:
 * a plugin cannot write outside it, nor over the index the engine keeps.
 */
export const INDEX_FILE = 'topoforge-index.json';
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** Returns a reason when the path is not acceptable, otherwise undefined. */
export function pathProblem(path: string): string | undefined {
  if (path.length === 0) return 'the path is empty';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'the path is absolute';
  if (path.includes('\\')) return 'the path contains a backslash';
  const segments = path.split('/');
  if (segments.includes('..')) return 'the path leaves the environment directory ("..")';
  for (const s of segments) {
    if (s === '' || s === '.') return 'the path has an empty or "." segment';
    if (!SEGMENT.test(s)) return `the path segment "${s}" has characters outside [A-Za-z0-9._-] or starts with "." or "-"`;
  }
  if (path === INDEX_FILE) return `${INDEX_FILE} is the engine's index`;
  return undefined;
}

export function defaultObjectPath(plugin: string, target: { dc: string } | { environment: true }, kind: string, name: string, namespace?: string): string {
  const root = 'dc' in target ? `clusters/${target.dc}` : 'environment';
  const ns = namespace ? `${namespace}/` : '';
  return `${root}/${plugin}/${ns}${kind.toLowerCase()}-${name}.yaml`;
}
