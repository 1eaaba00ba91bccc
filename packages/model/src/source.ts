/**
 * Reads a YAML file into plain data plus a map from JSON pointer to source position,
 * so that a validation error on the merged model can name the file, line and column
 * of the value (or of the key, for unknown keys) that caused it.
 */
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from '@topoforge/bundled-deps/yaml'; // one module, not 84 (see @topoforge/bundled-deps)
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

/** The keys and indexes of a pointer, unescaped. */
export function pointerSegments(pointer: string): string[] {
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function pointerToField(pointer: string): string {
  return pointerSegments(pointer).join('.');
}

/**
 * Bounds on what one topology file may be. Real environments are a few hundred nodes a
 * few levels deep; the bounds are far above that and far below what exhausts memory.
 */
export const YAML_LIMITS = {
  /** Bytes per file. */
  maxBytes: 1024 * 1024,
  /** Nesting of mappings and lists. */
  maxDepth: 32,
  /** Nodes (keys, values, list items) per file. */
  maxNodes: 50_000,
  /** Alias expansions per file (yaml's maxAliasCount: an alias bomb is refused). */
  maxAliasCount: 100,
} as const;

export function parseYamlSource(file: string, text: string): { source?: SourceFile; diagnostics: Diagnostic[] } {
  const lineCounter = new LineCounter();
  const pos = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  if (text.length > YAML_LIMITS.maxBytes) {
    return {
      diagnostics: [
        {
          code: 'TOPOLOGY_LIMIT_EXCEEDED',
          message: `${file} has ${text.length} characters; a topology file may have at most ${YAML_LIMITS.maxBytes}`,
          position: { file, line: 1, column: 1 },
          hint: 'split it, or check that the right file is named',
        },
      ],
    };
  }
  // Duplicate keys are found by duplicateKeys: yaml's own check (uniqueKeys) compares each key
  // with every key before it in its mapping, and a 45,000-key mapping (484 KB) took 90 s of CPU.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, version: '1.2' });
  const diagnostics: Diagnostic[] = [];
  const problems = [...doc.errors, ...doc.warnings].map((e) => ({ offset: e.pos[0], message: e.message.split('\n')[0] ?? e.message }));
  for (const p of [...problems, ...duplicateKeys(doc)].sort((a, b) => a.offset - b.offset)) {
    diagnostics.push({
      code: 'TOPOLOGY_YAML_SYNTAX',
      message: p.message,
      position: pos(p.offset),
      hint: 'fix the YAML syntax; topology files are plain YAML 1.2 without anchors across files',
    });
  }
  if (diagnostics.length > 0) return { diagnostics };

  const locations: SourceMap = new Map();
  const start = (n: Node | null | undefined, fallback: number): number => (n && n.range ? n.range[0] : fallback);
  let nodes = 0;
  let limit: Diagnostic | undefined;
  const aliases: Node[] = [];
  const walk = (node: unknown, pointer: string, keyPos: SourcePosition, depth: number): void => {
    if (limit) return;
    const n = node as Node | null;
    const valuePos = pos(start(n, 0));
    if (++nodes > YAML_LIMITS.maxNodes) {
      limit = {
        code: 'TOPOLOGY_LIMIT_EXCEEDED',
        message: `${file} has more than ${YAML_LIMITS.maxNodes} keys, values and list items`,
        position: valuePos,
        hint: 'a topology file describes a platform, not data; check that the right file is named',
      };
      return;
    }
    if (depth > YAML_LIMITS.maxDepth) {
      limit = {
        code: 'TOPOLOGY_LIMIT_EXCEEDED',
        message: `${file} nests mappings and lists more than ${YAML_LIMITS.maxDepth} levels deep`,
        position: valuePos,
        field: pointerToField(pointer),
        hint: 'no topology field is nested this deep',
      };
      return;
    }
    locations.set(pointer, { key: keyPos, value: n && n.range ? valuePos : keyPos });
    if (isAlias(n)) aliases.push(n);
    if (isMap(n)) {
      for (const item of n.items) {
        if (!isPair(item)) continue;
        const k = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const kp = pos(start(item.key as Node, 0));
        walk(item.value, `${pointer}/${escapePointer(k)}`, kp, depth + 1);
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => {
        const ip = pos(start(item as Node, 0));
        walk(item, `${pointer}/${i}`, ip, depth + 1);
      });
    }
  };
  const root = doc.contents;
  walk(root, '', pos(start(root as Node, 0)), 0);
  if (limit) return { diagnostics: [limit] };
  // An alias inside the node it names makes a cycle; toJS would build a circular value.
  for (const a of aliases) {
    if (!isAlias(a)) continue;
    const target = a.resolve(doc) as Node | undefined;
    if (target?.range && a.range && a.range[0] >= target.range[0] && a.range[0] < target.range[2]) {
      return {
        diagnostics: [
          {
            code: 'TOPOLOGY_ALIAS',
            message: `alias *${a.source} refers to a node that contains it (a cycle)`,
            position: pos(a.range[0]),
            hint: 'write the value out instead of an alias to its own ancestor',
          },
        ],
      };
    }
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount }) as unknown;
  } catch (err) {
    const first = aliases[0];
    return {
      diagnostics: [
        {
          code: 'TOPOLOGY_ALIAS',
          message: `aliases expand too far: ${(err as Error).message}`,
          position: first?.range ? pos(first.range[0]) : { file, line: 1, column: 1 },
          hint: `at most ${YAML_LIMITS.maxAliasCount} alias expansions per file; write the values out`,
        },
      ],
    };
  }
  return { source: { file, data: data ?? {}, locations }, diagnostics };
}

/**
 * Every key equal to an earlier key of its mapping, as yaml's uniqueKeys has them (scalars with
 * the same value) and with its message and position, in one pass: a Set per mapping. Iterative,
 * as a document is not yet known to be shallow here.
 */
function duplicateKeys(doc: Document): { offset: number; message: string }[] {
  const out: { offset: number; message: string }[] = [];
  const stack: unknown[] = [doc.contents];
  while (stack.length > 0) {
    const n = stack.pop();
    if (isMap(n)) {
      const seen = new Set<unknown>();
      for (const item of n.items) {
        const key = item.key;
        if (isScalar(key)) {
          if (seen.has(key.value)) out.push({ offset: key.range?.[0] ?? 0, message: 'Map keys must be unique' });
          seen.add(key.value);
        }
        stack.push(key, item.value);
      }
    } else if (isSeq(n)) {
      for (const item of n.items) stack.push(item);
    } else if (isPair(n)) {
      stack.push(n.key, n.value);
    }
  }
  return out;
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
