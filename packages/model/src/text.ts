/**
 * Every string of a topology is one line of printable text: a control character (a
 * newline in a selector, DEL, NUL, an escape sequence) has no meaning in a name, a label
 * value or a bucket, and would reach YAML, PromQL or a shell script raw; a bidi control makes a
 * reviewer read a value in another order than the program that uses it. Plugin options
 * may hold multi-line text (newlines and tabs), nothing else.
 */
import type { Diagnostic } from './diagnostics.js';
import { CONTROL_CHARACTER as CONTROL } from './printable.js';
import { escapePointer, locate, pointerToField, type SourceMap } from './source.js';

const NEWLINE = /[\t\n]/;

export function controlCharacters(data: unknown, locations: SourceMap): Diagnostic[] {
  const out: Diagnostic[] = [];
  const walk = (v: unknown, pointer: string, inOptions: boolean, depth: number): void => {
    if (depth > 64) return;
    if (typeof v === 'string') {
      const m = CONTROL.exec(v) ?? (inOptions ? null : NEWLINE.exec(v));
      if (m) {
        const position = locate(locations, pointer);
        const code = m[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        out.push({
          code: 'TOPOLOGY_INVALID_VALUE',
          message: `${pointerToField(pointer) || 'a value'} contains the control character U+${code}`,
          field: pointerToField(pointer),
          ...(position ? { position } : {}),
          hint: 'values are one line of printable text; remove the character',
        });
      }
      return;
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${pointer}/${i}`, inOptions, depth + 1));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        const p = `${pointer}/${escapePointer(k)}`;
        if (CONTROL.test(k) || NEWLINE.test(k)) {
          const position = locate(locations, p, 'key');
          out.push({
            code: 'TOPOLOGY_INVALID_NAME',
            message: `a key of ${pointerToField(pointer) || 'the document'} contains a control character`,
            field: pointerToField(pointer),
            ...(position ? { position } : {}),
            hint: 'keys are names: letters, digits and "-"',
          });
        }
        walk(x, p, inOptions || /^\/plugins\/[^/]+\/options$/.test(p), depth + 1);
      }
    }
  };
  walk(data, '', false, 0);
  return out;
}
