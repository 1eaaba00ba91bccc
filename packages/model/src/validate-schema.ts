/**
 * Schema validation with ajv (allErrors), translated into Diagnostics that carry the
 * source position and a hint. ajv is used rather than hand-written checks because the
 * same TypeBox schema also gives the static type, and plugins' option schemas go
 * through the same path.
 */
import type { ErrorObject, ValidateFunction } from 'ajv';
import { ValidatorCache } from '@topoforge/validator-cache';
import { closest, distance } from 'fastest-levenshtein';
import type { TSchema } from '@sinclair/typebox';
import { credentialKey, credentialReason } from '@topoforge/secret-scan';
import type { Diagnostic, DiagnosticCode } from './diagnostics.js';
import { locate, pointerSegments, pointerToField, escapePointer, type SourceMap } from './source.js';

// Validators are kept on disk between processes (see @topoforge/validator-cache): compiling the
// topology schema and the plugins' option schemas was a quarter of every bundled `check`.
const plain = new ValidatorCache({ allErrors: true, verbose: true, strict: false });
// Plugin options get their schema defaults filled in (ajv mutates the data it checks).
const withDefaults = new ValidatorCache({ allErrors: true, verbose: true, strict: false, useDefaults: true });

function compile(schema: TSchema | object, useDefaults: boolean): ValidateFunction {
  return (useDefaults ? withDefaults : plain).compile(schema);
}

/** "did you mean …" for a misspelt key, when a candidate is close enough. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const best = closest(word, [...candidates]);
  return distance(word, best) <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export interface SchemaCheckOptions {
  /** Pointer under which `data` sits in the source file (for plugin options). */
  readonly basePointer?: string;
  readonly code?: DiagnosticCode;
  readonly plugin?: string;
  readonly environment?: string;
  /** Fill in schema defaults; `data` is mutated. */
  readonly useDefaults?: boolean;
}

export function checkSchema(schema: TSchema | object, data: unknown, locations: SourceMap, opts: SchemaCheckOptions = {}): Diagnostic[] {
  const validate = compile(schema, opts.useDefaults ?? false);
  if (validate(data)) return [];
  const base = opts.basePointer ?? '';
  const errors = (validate.errors ?? []).filter((e) => !e.schemaPath.includes('/anyOf/'));
  const out: Diagnostic[] = [];
  const seen = new Set<string>();
  // A misspelt key also makes the right key "missing": report only the misspelling,
  // whose hint already names the right key.
  const suggested = new Set<string>();
  for (const e of errors) {
    if (e.keyword !== 'additionalProperties') continue;
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    const guess = suggest(key, allowed);
    if (guess) suggested.add(`${e.instancePath}/${guess}`);
  }
  for (const e of errors) {
    if (e.keyword === 'required' && suggested.has(`${e.instancePath}/${String((e.params as { missingProperty: string }).missingProperty)}`)) continue;
    const d = toDiagnostic(e, base, locations, opts);
    const key = `${d.field}|${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function toDiagnostic(e: ErrorObject, base: string, locations: SourceMap, opts: SchemaCheckOptions): Diagnostic {
  const common = { ...(opts.plugin ? { plugin: opts.plugin } : {}), ...(opts.environment ? { environment: opts.environment } : {}) };
  const at = base + e.instancePath;
  if (e.keyword === 'additionalProperties') {
    const key = String((e.params as { additionalProperty: string }).additionalProperty);
    const pointer = `${at}/${escapePointer(key)}`;
    const allowed = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
    const guess = suggest(key, allowed);
    return {
      ...common,
      code: opts.code ?? 'TOPOLOGY_UNKNOWN_KEY',
      message: `unknown key "${key}"`,
      field: pointerToField(pointer),
      hint: guess ? `did you mean "${guess}"?` : allowed.length ? `allowed keys: ${allowed.join(', ')}` : 'remove it',
      ...withPosition(locate(locations, pointer, 'key')),
    };
  }
  if (e.keyword === 'required') {
    const missing = String((e.params as { missingProperty: string }).missingProperty);
    return {
      ...common,
      code: opts.code ?? 'TOPOLOGY_MISSING_FIELD',
      message: `missing required field "${missing}"`,
      field: pointerToField(`${at}/${escapePointer(missing)}`),
      hint: describe((e.parentSchema as { properties?: Record<string, { description?: string }> } | undefined)?.properties?.[missing]),
      ...withPosition(locate(locations, at, 'key')),
    };
  }
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'anyOf') {
    const options = ((e.parentSchema as { anyOf?: { const?: unknown }[] } | undefined)?.anyOf ?? []).map((s) => s.const).filter((c) => c !== undefined);
    if (options.length) message = `must be one of: ${options.map((o) => JSON.stringify(o)).join(', ')}`;
  }
  return {
    ...common,
    code: opts.code ?? 'TOPOLOGY_INVALID_VALUE',
    message: `${pointerToField(at) || 'document'} ${message}${got(at, e.data)}`,
    field: pointerToField(at),
    hint: describe(e.parentSchema as { description?: string } | undefined),
    ...withPosition(locate(locations, at, 'value')),
  };
}

/**
 * ` (got …)`: the scalar that broke the schema, unless it may be a credential — by its shape,
 * or because it sits under a credential's key anywhere on its path (`password: hunter2xyz`,
 * `credentialSecret: <the value itself>`, `apiToken: 12345678`). A value's shape alone misses
 * most passwords, and the redaction of printed text works by shape too.
 */
function got(pointer: string, data: unknown): string {
  if (data === undefined || typeof data === 'object') return '';
  const keys = pointerSegments(pointer);
  if (keys.some(credentialKey)) return '';
  if (typeof data === 'string' && credentialReason(keys.at(-1), data)) return '';
  return ` (got ${JSON.stringify(data)?.slice(0, 60)})`;
}

function describe(schema: { description?: string } | undefined): string | undefined {
  return schema?.description ? `expected ${schema.description}` : undefined;
}

function withPosition(p: ReturnType<typeof locate>): { position?: NonNullable<ReturnType<typeof locate>> } {
  return p ? { position: p } : {};
}
