/**
 * Loading: read an environment file and the chain of files it extends, merge them,
 * validate the schema, then resolve the model. Every problem is collected and returned
 * at once, each with file:line:column, field and hint.
 */
import { readdirSync } from 'node:fs';
import { readBoundedFile, type ReadProblem, type TextPosition } from '@topoforge/safe-fs';
import { dirname, join, relative, resolve, isAbsolute } from 'node:path';
import { fail, ok, sortDiagnostics, type Diagnostic, type Result } from './diagnostics.js';
import { mergeWithLocations } from './merge.js';
import { parseYamlSource, locate, YAML_LIMITS, type SourceFile, type SourceMap } from './source.js';
import { suggest } from './validate-schema.js';
import { plainSecrets } from './secrets.js';
import { controlCharacters } from './text.js';
import { ExtendsSchema, TopologyFileSchema, type TopologyInput } from './schema.js';
import { checkSchema } from './validate-schema.js';
import { EMPTY_LEDGER, parseLedger } from './ledger.js';
import { resolveEnvironment } from './resolve.js';
import { byString } from './compare.js';
import type { Environment } from './model.js';

export interface LoadOptions {
  /** Directory file names are reported relative to (default: the working directory). */
  readonly cwd?: string;
  /** Read a file; defaults to the file system (tests pass an in-memory tree). */
  readonly readFile?: (absolutePath: string) => string;
}

/** Why the default reader refused a file. */
export class TopologyReadError extends Error {
  readonly problem: ReadProblem;
  /** Where in the file, for a file that is not UTF-8. */
  readonly at: TextPosition | undefined;
  constructor(problem: ReadProblem, detail: string, at?: TextPosition) {
    super(detail);
    this.name = 'TopologyReadError';
    this.problem = problem;
    this.at = at;
  }
}

/**
 * Reads a topology file: a regular file of at most YAML_LIMITS.maxBytes, never a device
 * or a FIFO (`extends: /dev/zero` is refused before it is opened), and UTF-8 text: a byte that
 * is not would be read as U+FFFD and rendered, a change nobody wrote.
 */
export function readTopologyFile(absolutePath: string): string {
  const r = readBoundedFile(absolutePath, YAML_LIMITS.maxBytes, { strictUtf8: true });
  if (!r.ok) throw new TopologyReadError(r.problem, r.detail, r.at);
  return r.text;
}

/** The diagnostic for a file that is not UTF-8, at its first malformed byte. */
function notUtf8(shown: string, err: TopologyReadError): Diagnostic {
  return {
    code: 'TOPOLOGY_YAML_SYNTAX',
    message: `${shown} is not UTF-8 text: ${err.message}`,
    position: { file: shown, line: err.at?.line ?? 1, column: err.at?.column ?? 1 },
    hint: 'save the file as UTF-8; YAML is Unicode text',
  };
}

function display(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : abs;
}

/** Reads and parses one file of a chain (`chain`: what is read so far, for where an `extends` names it); undefined, with diagnostics, when it cannot be. */
function readSource(abs: string, shown: string, chain: readonly SourceFile[], opts: Required<LoadOptions>, diagnostics: Diagnostic[]): SourceFile | undefined {
  let text: string;
  try {
    text = opts.readFile(abs);
  } catch (err) {
    const prev = chain[0];
    const extendsPos = prev ? locate(prev.locations, '/extends') : undefined;
    const where = extendsPos ? { position: extendsPos, field: 'extends' } : { position: { file: shown, line: 1, column: 1 } };
    if (err instanceof TopologyReadError && err.problem === 'not-utf8') {
      diagnostics.push(notUtf8(shown, err));
      return undefined;
    }
    if (err instanceof TopologyReadError && err.problem !== 'unreadable') {
      diagnostics.push(
        err.problem === 'not-a-file'
          ? {
              code: 'TOPOLOGY_FILE_TYPE',
              message: `${shown} is ${err.message}, not a YAML file`,
              ...where,
              hint: 'topology files and what they extend are regular YAML files',
            }
          : {
              code: 'TOPOLOGY_LIMIT_EXCEEDED',
              message: `${shown} is too large (${err.message}); a topology file may have at most ${YAML_LIMITS.maxBytes} bytes`,
              ...where,
              hint: 'check that the right file is named',
            },
      );
      return undefined;
    }
    diagnostics.push({
      code: prev ? 'TOPOLOGY_EXTENDS_NOT_FOUND' : 'TOPOLOGY_FILE_UNREADABLE',
      message: `cannot read ${shown}: ${err instanceof TopologyReadError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err))}`,
      ...(extendsPos ? { position: extendsPos, field: 'extends' } : {}),
      hint: prev ? 'extends is relative to the file that names it' : 'check the path',
    });
    return undefined;
  }
  const { source, diagnostics: ds } = parseYamlSource(shown, text);
  diagnostics.push(...ds);
  return source;
}

/** A file of a chain already read and parsed (loadEnvironments reads each file once). */
interface ParsedFile {
  readonly abs: string;
  readonly source: SourceFile;
}

/** `parsed`: see ParsedFile. */
function readChain(file: string, opts: Required<LoadOptions>, diagnostics: Diagnostic[], parsed?: ParsedFile): SourceFile[] | undefined {
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
    const source = parsed?.abs === abs ? parsed.source : readSource(abs, shown, chain, opts, diagnostics);
    if (!source) return undefined;
    if (typeof source.data !== 'object' || source.data === null || Array.isArray(source.data)) {
      diagnostics.push({ code: 'TOPOLOGY_INVALID_VALUE', message: 'a topology file must be a YAML mapping', position: { file: shown, line: 1, column: 1 } });
      return undefined;
    }
    chain.unshift(source);
    const ext = (source.data as { extends?: unknown }).extends;
    if (ext === undefined) break;
    // Checked here, not only with the merged file: `extends` is stripped before that check, and
    // an `extends: null` taken as "no base" loads an environment without its base, whose render
    // then removes almost all of its output.
    const invalid = checkSchema(ExtendsSchema, ext, source.locations, { basePointer: '/extends' });
    if (typeof ext !== 'string' || invalid.length > 0) {
      diagnostics.push(...invalid);
      return undefined;
    }
    abs = resolve(dirname(abs), ext);
  }
  return chain;
}

/** Loads one environment file (and what it extends) into the resolved model. */
export function loadEnvironment(file: string, options: LoadOptions = {}): Result<Environment> {
  return loadParsed(file, options);
}

/** loadEnvironment, where `parsed` is the file itself already read and parsed (not read again: at 100k objects a parse was ~50 ms). */
function loadParsed(file: string, options: LoadOptions, parsed?: ParsedFile): Result<Environment> {
  const opts: Required<LoadOptions> = { cwd: options.cwd ?? process.cwd(), readFile: options.readFile ?? readTopologyFile };
  const diagnostics: Diagnostic[] = [];
  const chain = readChain(file, opts, diagnostics, parsed);
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
  const schemaErrors = [...plainSecrets(data, locations), ...controlCharacters(data, locations), ...checkSchema(TopologyFileSchema, data, locations)];
  if (schemaErrors.length > 0) return fail(sortDiagnostics(schemaErrors));
  const resolved = resolveEnvironment(
    data as TopologyInput,
    locations,
    top.file,
    chain.map((c) => c.file),
  );
  if (!resolved.ok) return fail(sortDiagnostics(resolved.diagnostics));
  if (resolved.value.stage !== 'staging') return ok(resolved.value);
  // A test stand carries its ledger, so production's render can read it through the model.
  const ledgerFile = join(dirname(resolve(opts.cwd, file)), 'verified', `${resolved.value.name}.yaml`);
  let text: string;
  try {
    text = opts.readFile(ledgerFile);
  } catch (err) {
    // No ledger is an empty one; a ledger that is there but cannot be read is an error, not
    // empty: empty, it would refuse every production version as never verified (testStand).
    const shown = display(ledgerFile, opts.cwd);
    if (err instanceof TopologyReadError && err.problem === 'not-utf8') return fail([notUtf8(shown, err)]);
    const missing =
      err instanceof TopologyReadError ? err.problem === 'unreadable' && err.message === 'ENOENT' : (err as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing) return ok({ ...resolved.value, ledger: EMPTY_LEDGER });
    const why = err instanceof TopologyReadError && err.problem === 'too-large' ? `too large (${err.message})` : (err as Error).message;
    return fail([
      {
        code: 'PROMOTE_LEDGER_INVALID',
        message: `cannot read ${shown}: ${why}`,
        position: { file: shown, line: 1, column: 1 },
        hint: 'the ledger is a small YAML file written by topoforge verify',
      },
    ]);
  }
  const ledger = parseLedger(display(ledgerFile, opts.cwd), text);
  if (!ledger.ok) return fail(sortDiagnostics(ledger.diagnostics));
  return ok({ ...resolved.value, ledger: ledger.value });
}

/**
 * Loads every environment of a directory. Every `*.yaml`/`*.yml` file in it must be
 * exactly a topology file — `kind: Environment` (loaded) or `kind: Base` (read through
 * `extends`); anything else, a YAML syntax error included, is an error with its position,
 * never a silent skip (a skipped environment would have its output pruned).
 */
export function loadEnvironments(dir: string, options: LoadOptions = {}): Result<Environment[]> {
  const cwd = options.cwd ?? process.cwd();
  const absDir = resolve(cwd, dir);
  const read = options.readFile ?? readTopologyFile;
  let names: string[];
  try {
    names = readdirSync(absDir)
      .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
      .sort();
  } catch (err) {
    return fail([
      {
        code: 'TOPOLOGY_FILE_UNREADABLE',
        message: `cannot read environments directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        hint: 'check --environments',
      },
    ]);
  }
  const diagnostics: Diagnostic[] = [];
  const envs: Environment[] = [];
  const byName = new Map<string, string>();
  for (const n of names) {
    const abs = join(absDir, n);
    const shown = display(abs, cwd);
    // The file alone first: is it an environment, a base, or neither?
    const own = readChain(abs, { cwd, readFile: (p) => (p === abs ? read(p) : '{}') }, diagnostics);
    if (!own) continue;
    const top = own[own.length - 1]!;
    const kind = (top.data as Record<string, unknown>).kind;
    if (kind === 'Base') continue;
    if (kind !== 'Environment') {
      const at = locate(top.locations, '/kind');
      const guess = typeof kind === 'string' ? suggest(kind, ['Environment', 'Base']) : undefined;
      diagnostics.push(
        kind === undefined
          ? {
              code: 'TOPOLOGY_MISSING_FIELD',
              message: `${shown} has no "kind"`,
              position: { file: shown, line: 1, column: 1 },
              field: 'kind',
              hint: 'every YAML file in the environments directory is kind: Environment or kind: Base',
            }
          : {
              code: 'TOPOLOGY_INVALID_VALUE',
              message: `kind must be "Environment" or "Base" (got ${JSON.stringify(kind).slice(0, 60)})`,
              ...(at ? { position: at } : { position: { file: shown, line: 1, column: 1 } }),
              field: 'kind',
              hint: guess ? `did you mean "${guess}"?` : 'every YAML file in the environments directory is kind: Environment or kind: Base',
            },
      );
      continue;
    }
    const r = loadParsed(abs, { ...options, cwd }, { abs, source: top });
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
  if (diagnostics.length > 0) {
    // A broken base is reported once, not once per environment that extends it.
    const seen = new Set<string>();
    return fail(sortDiagnostics(diagnostics).filter((d) => !seen.has(JSON.stringify(d)) && !!seen.add(JSON.stringify(d))));
  }
  if (envs.length === 0) {
    return fail([
      { code: 'TOPOLOGY_NO_ENVIRONMENTS', message: `no file with "kind: Environment" in ${dir}`, hint: 'an environment file starts with kind: Environment' },
    ]);
  }
  return ok(envs.sort((a, b) => byString(a.name, b.name)));
}
