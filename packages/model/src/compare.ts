/**
 * Small helpers every package above the model shares (engine, plugin host, gitops, promote,
 * sandbox, the plugins through the contract): one copy each instead of one per file.
 */

/** Orders strings by UTF-16 code unit: locale-free, so output is the same on every machine. */
export const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Orders anything named by its name (see byString). */
export const byName = <T extends { readonly name: string }>(a: T, b: T): number => byString(a.name, b.name);

/** A plain object (not null, not an array): JSON and YAML mappings. */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
