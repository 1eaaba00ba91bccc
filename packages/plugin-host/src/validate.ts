/**
 * Validation is a render phase: the output is checked before anything is written, so
 * `render` never leaves a tree that `diff` or `publish` later refuse. The layout rules are
 * what Flux and Argo CD need from `clusters/<dc>/` (they apply every .yaml/.yml/.json file
 * below it: each must hold only Kubernetes objects, and one object may not appear twice in
 * a DC); further validators (the engine's CRD check) are passed in. Every problem names
 * the plugin and the object or file.
 */
import { parseAllDocuments } from 'yaml';
import type { Diagnostic, Environment } from '@topoforge/model';
import type { Emitted, KubeObject } from '@topoforge/plugin-contract';
import { isObject } from './freeze.js';
import type { Files } from './serialize.js';

export interface RenderedOutput {
  readonly env: Environment;
  readonly emitted: readonly Emitted[];
  readonly files: Files;
}

/** Checks rendered output; returns problems (code, plugin, message naming the object). */
export type OutputValidator = (output: RenderedOutput) => readonly Diagnostic[];

const isKube = (v: unknown): v is KubeObject => isObject(v) && typeof v.apiVersion === 'string' && typeof v.kind === 'string' && isObject(v.metadata) && typeof v.metadata.name === 'string';

/** `Kind namespace/name`, as reviewers read it. */
export const objectName = (o: Pick<KubeObject, 'kind' | 'metadata'>): string => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

function documents(path: string, content: string): unknown[] | undefined {
  if (path.endsWith('.json')) {
    try {
      return [JSON.parse(content) as unknown];
    } catch {
      return undefined;
    }
  }
  const docs = parseAllDocuments(content, { prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  if (list.some((d) => d.errors.length > 0)) return undefined;
  return list.map((d) => d.toJS({ maxAliasCount: 100 }) as unknown).filter((v) => v !== null && v !== undefined);
}

export function layoutProblems(output: RenderedOutput): Diagnostic[] {
  const out: Diagnostic[] = [];
  const seen = new Map<string, string>();
  for (const e of output.emitted) {
    const segs = e.path.split('/');
    if (segs[0] !== 'clusters' || segs.length < 3) continue;
    const dc = segs[1]!;
    let objects: unknown[];
    if (e.type === 'object') objects = [e.object];
    else {
      if (!/\.(ya?ml|json)$/.test(e.path) || e.content.trim() === '') continue;
      const docs = documents(e.path, e.content);
      if (!docs || docs.length === 0 || !docs.every(isKube)) {
        out.push({
          code: 'RENDER_LAYOUT_INVALID',
          plugin: e.plugin,
          message: `${e.path} is not a file of Kubernetes objects (apiVersion, kind, metadata.name), but Flux and Argo CD apply everything under clusters/<dc>/`,
          hint: 'emit it outside clusters/ (e.g. at the environment level) or give it a non-YAML extension',
        });
        continue;
      }
      objects = docs;
    }
    for (const o of objects as KubeObject[]) {
      const group = o.apiVersion.includes('/') ? o.apiVersion.slice(0, o.apiVersion.lastIndexOf('/')) : '';
      const id = [dc, group, o.kind, o.metadata.namespace ?? '', o.metadata.name].join('|');
      const first = seen.get(id);
      if (first !== undefined) {
        out.push({ code: 'RENDER_LAYOUT_INVALID', plugin: e.plugin, message: `${objectName(o)} appears twice in DC ${dc} (${first} and ${e.path})`, hint: 'one object per DC: kustomize and Argo CD refuse duplicates' });
      } else seen.set(id, e.path);
    }
  }
  return out;
}

export function validateOutput(output: RenderedOutput, validators: readonly OutputValidator[]): Diagnostic[] {
  return [layoutProblems(output), ...validators.map((v) => v(output))].flat();
}
