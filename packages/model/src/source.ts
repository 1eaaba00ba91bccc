/**
 * Reads a YAML file into plain data plus a map from JSON pointer to source position,
 * so that a validation error on the merged model can name the file, line and column
 * of the value (or of the key, for unknown keys) that caused it.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { Diagnostic, SourcePosition } from './diagnostics.js';

export interface Located {
  /** Position of the key that introduced the value (or the value itself for list items / root). */
  readonly key: SourcePosition;
  readonly value: SourcePosition;
}

export type SourceMap = Map<string, Located>;

export interface SourceFile {
  readonly file: string;
  readonly data: unknown;
  readonly locations: SourceMap;
}

export function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointerToField(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

export function parseYamlSource(file: string, text: string): { source?: SourceFile; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  const pos = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const diagnostics: Diagnostic[] = [];
  for (const e of [...doc.errors, ...doc.warnings]) {
    diagnostics.push({
      code: 'TOPOLOGY_YAML_SYNTAX',
      message: e.message.split('\n')[0] ?? e.message,
      position: pos(e.pos[0]),
      hint: 'fix the YAML syntax; topology files are plain YAML 1.2 without anchors across files',
    });
  }
  if (diagnostics.length > 0) return { diagnostics };

  const locations: SourceMap = new Map();
  const start = (n: Node | null | undefined, fallback: number): number => (n && n.range ? n.range[0] : fallback);
  const walk = (node: unknown, pointer: string, keyPos: SourcePosition): void => {
    const n = node as Node | null;
    const valuePos = pos(start(n, 0));
    locations.set(pointer, { key: keyPos, value: n && n.range ? valuePos : keyPos });
    if (isMap(n)) {
      for (const item of n.items) {
        if (!isPair(item)) continue;
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const kp = pos(start(item.key as Node, 0));
        walk(item.value, `${pointer}/${escapePointer(k)}`, kp);
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => {
        const ip = pos(start(item as Node, 0));
        walk(item, `${pointer}/${i}`, ip);
      });
    }
  };
  const root = doc.contents;
  walk(root, '', pos(start(root as Node, 0)));
  const data = doc.toJS({ maxAliasCount: 100 }) as unknown;
  return { source: { file, data: data ?? {}, locations }, diagnostics };
}

/** The closest recorded position for a pointer: itself or its nearest ancestor. */
export function locate(locations: SourceMap, pointer: string, which: 'key' | 'value' = 'value'): SourcePosition | undefined {
  let p = pointer;
  for (;;) {
    const hit = locations.get(p);
    if (hit) return hit[which];
    if (p === '') return undefined;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}
