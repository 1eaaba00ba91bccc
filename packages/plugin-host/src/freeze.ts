/**
 * What a hook receives is read-only: the model, the options and what earlier plugins
 * emitted are frozen, so a plugin that writes to them throws (strict-mode ESM) instead of
 * silently changing what the next plugin reads.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const k of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[k]);
  }
  return value;
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
