/**
 * Inheritance: an environment file `extends` a base and overrides it.
 * - mappings merge key by key, recursively;
 * - scalars and lists replace what the base had;
 * - `null` removes the key (e.g. drop a plugin or a service in one environment).
 * Source positions follow the values: a merged value points at the file that supplied it.
 */
import { escapePointer, type SourceMap } from './source.js';

type Plain = Record<string, unknown>;
/** Sets an own property even for `__proto__`: keys from input are plain names, never prototypes. */
const put = (o: Plain, k: string, v: unknown): void => void Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
const has = (o: Plain, k: string): boolean => Object.hasOwn(o, k);
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

export function mergeWithLocations(base: unknown, baseLocs: SourceMap, overlay: unknown, overlayLocs: SourceMap): { data: unknown; locations: SourceMap } {
  const locations: SourceMap = new Map();
  const copyLocs = (from: SourceMap, pointer: string): void => {
    for (const [p, l] of from) if (p === pointer || p.startsWith(pointer + '/')) locations.set(p, l);
  };
  const merge = (b: unknown, o: unknown, pointer: string): unknown => {
    if (isPlain(b) && isPlain(o)) {
      const out: Plain = {};
      const ownLoc = overlayLocs.get(pointer) ?? baseLocs.get(pointer);
      if (ownLoc) locations.set(pointer, ownLoc);
      for (const k of Object.keys(b)) {
        if (!has(o, k)) {
          put(out, k, b[k]);
          copyLocs(baseLocs, `${pointer}/${escapePointer(k)}`);
        }
      }
      for (const k of Object.keys(o)) {
        const child = `${pointer}/${escapePointer(k)}`;
        if (o[k] === null) continue; // removal
        put(out, k, has(b, k) ? merge(b[k], o[k], child) : o[k]);
        if (!has(b, k)) copyLocs(overlayLocs, child);
      }
      return out;
    }
    copyLocs(overlayLocs, pointer);
    return o;
  };
  const data = merge(base, overlay, '');
  return { data, locations };
}
