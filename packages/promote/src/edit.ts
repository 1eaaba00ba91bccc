/**
 * Sets `services.<name>.version` (and `image`, when a promotion carries it) in an environment
 * file and changes nothing else.
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
  /** The new version; left as it is when absent (an image-only promotion). */
  readonly version?: string;
  /** The new image (repository), when the test stand runs another one than the file's. */
  readonly image?: string;
}

/** A field of a service that promotion sets. */
type Field = 'image' | 'version';

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

function spliceFor(text: string, doc: Document, service: string, key: Field, raw: string): Splice {
  const services = doc.get('services', true) as Node | undefined | null;
  const value = quoted(raw);
  if (services === undefined || services === null) {
    // No `services:` in this file yet: add the block at the end.
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    return { at: text.length, remove: 0, insert: `${sep}\nservices:\n  ${service}:\n    ${key}: ${value}\n` };
  }
  if (!isMap(services) || !services.range) throw new Error('`services` is not a mapping');
  const entry = services.get(service, true) as Node | undefined | null;
  if (entry === undefined) {
    if (services.flow) {
      const at = services.range[0] + 1; // just after `{`
      return { at, remove: 0, insert: services.items.length ? ` ${service}: { ${key}: ${value} },` : ` ${service}: { ${key}: ${value} } ` };
    }
    return appendToBlockMap(text, services, (i) => `${i}${service}:\n${i}  ${key}: ${value}\n`);
  }
  if (entry === null || !isMap(entry) || !entry.range) throw new Error(`services.${service} is not a mapping`);
  const current = entry.get(key, true) as Node | undefined;
  if (current !== undefined) {
    if (!isScalar(current) || !current.range) throw new Error(`services.${service}.${key} is not a scalar`);
    return { at: current.range[0], remove: current.range[1] - current.range[0], insert: value };
  }
  if (entry.flow) {
    const at = entry.range[0] + 1;
    return { at, remove: 0, insert: entry.items.length ? ` ${key}: ${value},` : ` ${key}: ${value} ` };
  }
  return appendToBlockMap(text, entry, (i) => `${i}${key}: ${value}\n`);
}

/**
 * Returns `text` with every edit applied, everything else byte for byte the same.
 * Throws when the file's shape does not allow it (e.g. `services` is a list).
 */
export function setVersions(text: string, edits: readonly VersionEdit[]): string {
  let out = text;
  // One field at a time, re-parsing in between: offsets stay exact and edits cannot overlap.
  // The image first, so a new entry reads like base.yaml's (image, then version).
  const fields = edits.flatMap((e) =>
    (['image', 'version'] as const).flatMap((key) => (e[key] === undefined ? [] : [{ service: e.service, key, value: e[key] }])),
  );
  for (const { service, key, value } of fields) {
    const doc = parseDocument(out);
    if (doc.errors.length) throw new Error(`cannot parse: ${doc.errors[0]!.message}`);
    const before = doc.toJS() as Record<string, unknown> | null;
    const s = spliceFor(out, doc, service, key, value);
    const next = out.slice(0, s.at) + s.insert + out.slice(s.at + s.remove);
    const check = parseDocument(next);
    if (check.errors.length) throw new Error(`setting services.${service}.${key} would break the file: ${check.errors[0]!.message}`);
    // The only difference the parser may see is the one we meant.
    const want = structuredClone(before ?? {});
    const svcs = ((want['services'] as Record<string, unknown> | null | undefined) ??= {}) as Record<string, Record<string, unknown>>;
    svcs[service] = { ...(svcs[service] ?? {}), [key]: value };
    if (JSON.stringify(sortKeys(check.toJS())) !== JSON.stringify(sortKeys(want))) {
      throw new Error(`setting services.${service}.${key} changed more than that value; edit the file by hand`);
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
