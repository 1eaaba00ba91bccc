/**
 * Sets `services.<name>.version` in an environment file and changes nothing else.
 *
 * `Document.toString()` re-prints every node: aligned flow maps lose their alignment and
 * long ones are folded over several lines, so a one-line promotion became a diff of the
 * whole file. Instead the `yaml` Document API locates the nodes (their source ranges), the
 * new text is spliced in at those offsets, and the result is parsed again and compared with
 * the intended data, so an edit that the parser reads differently is refused, not written.
 */
import { isMap, isScalar, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { byString } from '@topoforge/model';

export interface VersionEdit {
  readonly service: string;
  readonly version: string;
}

/** A double-quoted YAML scalar: versions such as 1.10 must stay strings. */
const quoted = (v: string): string => JSON.stringify(v);

const lineStart = (text: string, offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;
const indentOf = (text: string, offset: number): string => ' '.repeat(offset - lineStart(text, offset));

interface Splice {
  readonly at: number;
  readonly remove: number;
  readonly insert: string;
}

/** Where the next item of a block map goes, and with what indentation. */
function appendToBlockMap(text: string, map: YAMLMap, line: (indent: string) => string): Splice {
  const first = map.items[0]?.key as Node | undefined;
  const end = map.range![1];
  const indent = first?.range ? indentOf(text, first.range[0]) : '  ';
  const sep = end > 0 && text[end - 1] !== '\n' ? '\n' : '';
  return { at: end, remove: 0, insert: `${sep}${line(indent)}` };
}

function spliceFor(text: string, doc: Document, edit: VersionEdit): Splice {
  const services = doc.get('services', true) as Node | undefined | null;
  const value = quoted(edit.version);
  if (services === undefined || services === null) {
    // No `services:` in this file yet: add the block at the end.
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    return { at: text.length, remove: 0, insert: `${sep}\nservices:\n  ${edit.service}:\n    version: ${value}\n` };
  }
  if (!isMap(services) || !services.range) throw new Error('`services` is not a mapping');
  const entry = services.get(edit.service, true) as Node | undefined | null;
  if (entry === undefined) {
    if (services.flow) {
      const at = services.range[0] + 1; // just after `{`
      return { at, remove: 0, insert: services.items.length ? ` ${edit.service}: { version: ${value} },` : ` ${edit.service}: { version: ${value} } ` };
    }
    return appendToBlockMap(text, services, (i) => `${i}${edit.service}:\n${i}  version: ${value}\n`);
  }
  if (entry === null || !isMap(entry) || !entry.range) throw new Error(`services.${edit.service} is not a mapping`);
  const current = entry.get('version', true) as Node | undefined;
  if (current !== undefined) {
    if (!isScalar(current) || !current.range) throw new Error(`services.${edit.service}.version is not a scalar`);
    return { at: current.range[0], remove: current.range[1] - current.range[0], insert: value };
  }
  if (entry.flow) {
    const at = entry.range[0] + 1;
    return { at, remove: 0, insert: entry.items.length ? ` version: ${value},` : ` version: ${value} ` };
  }
  return appendToBlockMap(text, entry, (i) => `${i}version: ${value}\n`);
}

/**
 * Returns `text` with every edit applied, everything else byte for byte the same.
 * Throws when the file's shape does not allow it (e.g. `services` is a list).
 */
export function setVersions(text: string, edits: readonly VersionEdit[]): string {
  let out = text;
  // One edit at a time, re-parsing in between: offsets stay exact and edits cannot overlap.
  for (const edit of edits) {
    const doc = parseDocument(out);
    if (doc.errors.length) throw new Error(`cannot parse: ${doc.errors[0]!.message}`);
    const before = doc.toJS() as Record<string, unknown> | null;
    const s = spliceFor(out, doc, edit);
    const next = out.slice(0, s.at) + s.insert + out.slice(s.at + s.remove);
    const check = parseDocument(next);
    if (check.errors.length) throw new Error(`setting services.${edit.service}.version would break the file: ${check.errors[0]!.message}`);
    // The only difference the parser may see is the one we meant.
    const want = structuredClone(before ?? {});
    const svcs = ((want['services'] as Record<string, unknown> | null | undefined) ??= {}) as Record<string, Record<string, unknown>>;
    svcs[edit.service] = { ...(svcs[edit.service] ?? {}), version: edit.version };
    if (JSON.stringify(sortKeys(check.toJS())) !== JSON.stringify(sortKeys(want))) {
      throw new Error(`setting services.${edit.service}.version changed more than that value; edit the file by hand`);
    }
    out = next;
  }
  return out;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => byString(a, b))
        .map(([k, x]) => [k, sortKeys(x)]),
    );
  return v;
}
