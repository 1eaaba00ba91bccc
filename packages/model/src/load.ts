/**
 * Loading: read an environment file and the chain of files it extends, merge them,
 * validate the schema, then resolve the model. Every problem is collected and returned
 * at once, each with file:line:column, field and hint.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { fail, ok, sortDiagnostics, type Diagnostic, type Result } from './diagnostics.js';
import { mergeWithLocations } from './merge.js';
import { parseYamlSource, locate, type SourceFile, type SourceMap } from './source.js';
import { TopologyFileSchema, type TopologyInput } from './schema.js';
import { checkSchema } from './validate-schema.js';
import { EMPTY_LEDGER, parseLedger } from './ledger.js';
import { resolveEnvironment } from './resolve.js';
import type { Environment } from './model.js';

export interface LoadOptions {
  /** Directory file names are reported relative to (default: the working directory). */
  readonly cwd?: string;
  /** Read a file; defaults to the file system (tests pass an in-memory tree). */
  readonly readFile?: (absolutePath: string) => string;
}

function display(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : abs;
}

function readChain(file: string, opts: Required<LoadOptions>, diagnostics: Diagnostic[]): SourceFile[] | undefined {
  const chain: SourceFile[] = [];
  const seen: string[] = [];
  let abs = resolve(opts.cwd, file);
  for (;;) {
    const shown = display(abs, opts.cwd);
    if (seen.includes(abs)) {
      diagnostics.push({
        code: 'TOPOLOGY_EXTENDS_CYCLE',
        message: `extends forms a cycle: ${[...seen, abs].map((f) => display(f, opts.cwd)).join(' -> ')}`,
        position: { file: shown, line: 1, column: 1 },
        hint: 'an environment extends a base; a base must not extend the environment',
      });
      return undefined;
    }
    seen.push(abs);
    let text: string;
    try {
      text = opts.readFile(abs);
    } catch (err) {
      const prev = chain[0];
      const extendsPos = prev ? locate(prev.locations, '/extends') : undefined;
      diagnostics.push({
        code: prev ? 'TOPOLOGY_EXTENDS_NOT_FOUND' : 'TOPOLOGY_FILE_UNREADABLE',
        message: `cannot read ${shown}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        ...(extendsPos ? { position: extendsPos, field: 'extends' } : {}),
        hint: prev ? 'extends is relative to the file that names it' : 'check the path',
      });
      return undefined;
    }
    const { source, diagnostics: ds } = parseYamlSource(shown, text);
    diagnostics.push(...ds);
    if (!source) return undefined;
    if (typeof source.data !== 'object' || source.data === null || Array.isArray(source.data)) {
      diagnostics.push({ code: 'TOPOLOGY_INVALID_VALUE', message: 'a topology file must be a YAML mapping', position: { file: shown, line: 1, column: 1 } });
      return undefined;
    }
    chain.unshift(source);
    const ext = (source.data as { extends?: unknown }).extends;
    if (typeof ext !== 'string') break;
    abs = resolve(dirname(abs), ext);
  }
  return chain;
}

/** Loads one environment file (and what it extends) into the resolved model. */
export function loadEnvironment(file: string, options: LoadOptions = {}): Result<Environment> {
  const opts: Required<LoadOptions> = { cwd: options.cwd ?? process.cwd(), readFile: options.readFile ?? ((p) => readFileSync(p, 'utf8')) };
  const diagnostics: Diagnostic[] = [];
  const chain = readChain(file, opts, diagnostics);
  if (!chain) return fail(sortDiagnostics(diagnostics));
  let data: unknown = {};
  let locations: SourceMap = new Map();
  for (const src of chain) {
    const { extends: _ignored, kind: _kind, ...rest } = src.data as Record<string, unknown>;
    const merged = mergeWithLocations(data, locations, rest, src.locations);
    data = merged.data;
    locations = merged.locations;
  }
  const top = chain[chain.length - 1]!;
  const own = top.data as Record<string, unknown>;
  (data as Record<string, unknown>).kind = own.kind;
  const schemaErrors = checkSchema(TopologyFileSchema, data, locations);
  if (schemaErrors.length > 0) return fail(sortDiagnostics(schemaErrors));
  const resolved = resolveEnvironment(data as TopologyInput, locations, top.file, chain.map((c) => c.file));
  if (!resolved.ok) return fail(sortDiagnostics(resolved.diagnostics));
  if (resolved.value.stage !== 'staging') return ok(resolved.value);
  // A test stand carries its ledger, so production's render can read it through the model.
  const ledgerFile = join(dirname(resolve(opts.cwd, file)), 'verified', `${resolved.value.name}.yaml`);
  let text: string;
  try {
    text = opts.readFile(ledgerFile);
  } catch {
    return ok({ ...resolved.value, ledger: EMPTY_LEDGER });
  }
  const ledger = parseLedger(display(ledgerFile, opts.cwd), text);
  if (!ledger.ok) return fail(sortDiagnostics(ledger.diagnostics));
  return ok({ ...resolved.value, ledger: ledger.value });
}

/** Loads every `kind: Environment` file in a directory (bases are only read through `extends`). */
export function loadEnvironments(dir: string, options: LoadOptions = {}): Result<Environment[]> {
  const cwd = options.cwd ?? process.cwd();
  const absDir = resolve(cwd, dir);
  let names: string[];
  try {
    names = readdirSync(absDir).filter((n) => n.endsWith('.yaml') || n.endsWith('.yml')).sort();
  } catch (err) {
    return fail([{ code: 'TOPOLOGY_FILE_UNREADABLE', message: `cannot read environments directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  const diagnostics: Diagnostic[] = [];
  const envs: Environment[] = [];
  const byName = new Map<string, string>();
  for (const n of names) {
    const abs = join(absDir, n);
    const text = (options.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(abs);
    // Cheap pre-read of `kind` so bases are skipped without being validated alone.
    if (!/^kind:\s*Environment\s*$/m.test(text)) continue;
    const r = loadEnvironment(abs, { ...options, cwd });
    if (!r.ok) {
      diagnostics.push(...r.diagnostics);
      continue;
    }
    const prev = byName.get(r.value.name);
    if (prev) {
      diagnostics.push({
        code: 'TOPOLOGY_DUPLICATE_ENVIRONMENT',
        message: `environment "${r.value.name}" is defined twice: ${prev} and ${r.value.file}`,
        ...(locate(r.value.sourceMap, '/name') ? { position: locate(r.value.sourceMap, '/name')! } : {}),
        hint: 'environment names must be unique',
      });
      continue;
    }
    byName.set(r.value.name, r.value.file);
    envs.push(r.value);
  }
  if (diagnostics.length > 0) return fail(sortDiagnostics(diagnostics));
  const selected = envs;
  if (selected.length === 0) {
    return fail([{ code: 'TOPOLOGY_NO_ENVIRONMENTS', message: `no file with "kind: Environment" in ${dir}`, hint: 'an environment file starts with kind: Environment' }]);
  }
  return ok(selected.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
}
