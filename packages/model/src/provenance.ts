/**
 * Provenance: which values of the environment files an emitted object comes from. The
 * loader keeps the position of every value (the source map); resolution knows what a
 * service, a DC or a plugin draws on (its entry, the policies it names, its kind, its
 * region). Together they say, for a changed object, which `file:line` of `environments/`
 * caused the change.
 */
import type { SourcePosition } from './diagnostics.js';
import type { Environment } from './model.js';
import { escapePointer, locate, pointerToField } from './source.js';

/** One value of the merged input: a scalar, or a list (lists replace as a whole on merge). */
export interface InputValue {
  /** JSON pointer into the merged input, e.g. `/policies/backup/daily/retentionDays`. */
  readonly pointer: string;
  /** The same as a dotted field path, e.g. `policies.backup.daily.retentionDays`. */
  readonly field: string;
  /** The value as it reads in YAML (JSON for lists). */
  readonly value: string;
  /** Where the value is written (the file that supplied it after inheritance). */
  readonly position?: SourcePosition;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every leaf value of the environment's merged input, by pointer, in document order. */
export function inputValues(env: Environment): Map<string, InputValue> {
  const out = new Map<string, InputValue>();
  const walk = (v: unknown, pointer: string): void => {
    if (isPlain(v)) {
      for (const [k, child] of Object.entries(v)) walk(child, `${pointer}/${escapePointer(k)}`);
      return;
    }
    const position = locate(env.sourceMap, pointer);
    out.set(pointer, { pointer, field: pointerToField(pointer), value: typeof v === 'string' ? v : JSON.stringify(v), ...(position ? { position } : {}) });
  };
  walk(env.input ?? {}, '');
  return out;
}

export interface ProvenanceScope {
  readonly service?: string;
  readonly dc?: string;
  readonly plugin?: string;
}

/**
 * The input subtrees (JSON pointers) an object emitted for this scope is drawn from: the
 * environment's identity, the plugin's entry, the service's entry with the policies and
 * kind it names, the DC's entry with its region. An object without a service or DC (an
 * environment-wide file, a per-DC object listing every service) draws on the whole
 * placement: all services and DCs.
 */
export function provenancePointers(env: Environment, scope: ProvenanceScope): string[] {
  // Every object also follows the DC list: rotation days, failover targets and storage
  // locations are computed over all DCs.
  const out = new Set<string>(['/name', '/stage', '/dataCenters']);
  if (scope.plugin) out.add(`/plugins/${escapePointer(scope.plugin)}`);
  const addService = (name: string): void => {
    const s = env.services.find((x) => x.name === name);
    out.add(`/services/${escapePointer(name)}`);
    if (!s) return;
    out.add(`/serviceKinds/${escapePointer(s.kind)}`);
    for (const [group, p] of Object.entries(s.policies)) if (p) out.add(`/policies/${group}/${escapePointer(p.name)}`);
  };
  const addDc = (name: string): void => {
    out.add(`/dataCenters/${escapePointer(name)}`);
    const d = env.dataCenters.find((x) => x.name === name);
    if (d) out.add(`/regions/${escapePointer(d.region)}`);
  };
  if (scope.service) addService(scope.service);
  if (scope.dc) addDc(scope.dc);
  if (!scope.service) {
    // Shared objects (storage locations of every DC, gate lists, plans) follow the placement.
    if (!scope.dc) for (const d of env.dataCenters) addDc(d.name);
    for (const s of env.services) if (!scope.dc || s.dataCenters.includes(scope.dc)) addService(s.name);
  }
  return [...out].sort();
}

/** Whether `pointer` lies inside one of the subtrees. */
export function withinPointers(pointer: string, subtrees: readonly string[]): boolean {
  return subtrees.some((p) => pointer === p || pointer.startsWith(`${p}/`));
}
