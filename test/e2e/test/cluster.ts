/** Helpers for the tests that apply the render to real API servers (the sandbox). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { listTree } from '@topoforge/engine';
import { kubectlSync, type SandboxState } from '@topoforge/sandbox';

export interface RenderedObject {
  readonly dc: string;
  readonly file: string;
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

export const idOf = (o: { kind: string; namespace?: string; name: string }): string => `${o.kind}/${o.namespace ?? ''}/${o.name}`;

/** Every Kubernetes object rendered under `<envDir>/clusters/<dc>/`. */
export function renderedObjects(envDir: string): RenderedObject[] {
  const out: RenderedObject[] = [];
  for (const file of listTree(envDir)) {
    const m = /^clusters\/([^/]+)\/.*\.ya?ml$/.exec(file);
    if (!m) continue;
    for (const doc of parseAllDocuments(readFileSync(join(envDir, file), 'utf8'))) {
      const o = doc.toJS() as { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string } } | null;
      if (!o?.kind || !o.apiVersion || !o.metadata?.name) continue;
      out.push({
        dc: m[1]!,
        file,
        apiVersion: o.apiVersion,
        kind: o.kind,
        name: o.metadata.name,
        ...(o.metadata.namespace ? { namespace: o.metadata.namespace } : {}),
      });
    }
  }
  return out;
}

/** `Kind.version.group` (or `Kind` for the core group): how kubectl names a type unambiguously. */
const typeArg = (apiVersion: string, kind: string): string => {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return group ? `${kind}.${version}.${group}` : kind;
};

/** The topoforge-labelled objects of the given types in one DC's API server, with their DC label. */
export function labelledObjects(state: SandboxState, context: string, types: readonly { apiVersion: string; kind: string }[]): { id: string; dc?: string }[] {
  const args = [...new Set(types.map((t) => typeArg(t.apiVersion, t.kind)))].sort().join(',');
  const r = kubectlSync(state, context, ['get', args, '--all-namespaces', '-l', 'app.kubernetes.io/managed-by=topoforge', '-o', 'json']);
  if (r.code !== 0) throw new Error(`kubectl get in ${context}: ${r.err}`);
  const list = JSON.parse(r.out) as { items: { kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> } }[] };
  return list.items.map((i) => ({
    id: idOf({ kind: i.kind, name: i.metadata.name, ...(i.metadata.namespace ? { namespace: i.metadata.namespace } : {}) }),
    ...(i.metadata.labels?.['topoforge.io/dc'] ? { dc: i.metadata.labels['topoforge.io/dc'] } : {}),
  }));
}

/** Runs a command (argv, no shell) and returns status and output. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): { code: number; out: string; err: string; ms: number } {
  const started = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: opts.timeoutMs ?? 30 * 60_000,
  });
  return { code: r.status ?? (r.signal ? 128 : 1), out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : ''), ms: Date.now() - started };
}
