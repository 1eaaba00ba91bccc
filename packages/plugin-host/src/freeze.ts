/**
 * What a hook receives is read-only: the model, the options and what earlier plugins
 * emitted are frozen, so a plugin that writes to them throws (strict-mode ESM) instead of
 * silently changing what the next plugin reads.
 */
/** `T` while it is being built (its members set one by one), before anything reads it. */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const k of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return value;
}

/**
 * A frozen deep copy of JSON-shaped data in one pass (what structuredClone then deepFreeze
 * did in two, at several times the cost: a render kept in memory copies every object). Other
 * values (a Date, a Map) are copied by structuredClone.
 */
export function frozenCopy<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = frozenCopy(value[i] as unknown);
    return Object.freeze(out) as T;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return deepFreeze(structuredClone(value));
  const out: Record<string, unknown> = {};
  // for…in with an own-key test visits what Object.keys lists, in its order, without an array of
  // keys per object: a render kept in memory (diff, check) copies every object it emits.
  for (const k in value) if (Object.hasOwn(value, k)) out[k] = frozenCopy((value as Record<string, unknown>)[k]);
  return Object.freeze(out) as T;
}

// One copy of each, in the model (the lowest package the host, the engine and gitops share).
export { byString, isObject } from '@topoforge/model';

/** `services.store.policies.backup` → `/services/store/policies/backup`. */
export function fieldToPointer(field: string): string {
  return field === ''
    ? ''
    : '/' +
        field
          .split('.')
          .map((s) => s.replace(/~/g, '~0').replace(/\//g, '~1'))
          .join('/');
}
