/**
 * ajv validators compiled once and kept as code on disk.
 *
 * ajv writes a JavaScript function per schema; writing it (not running it) is the cost: the
 * topology schema and the bundled plugins' option schemas took about a quarter of a second
 * of every `topoforge check`, in every process, for schemas that change only with a release.
 * ajv's own standalone output is that function as module code, so a later process evaluates
 * the saved code instead of compiling the schema again.
 *
 * The file name is the SHA-256 of ajv's version, the options and the schema's JSON, so a
 * changed schema never meets an old validator. The cache is best-effort: a directory that
 * cannot be written, or a file that cannot be evaluated, means compiling as before. It lives
 * in this package's own `node_modules/.cache` (or TOPOFORGE_CACHE_DIR), never in the user's
 * tree.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ajv, Options, ValidateFunction } from 'ajv';
// The saved code requires ajv's runtime helpers (`ajv/dist/runtime/…`): they resolve from
// this package, which depends on ajv, wherever the cache file lies.
const requireHere = createRequire(import.meta.url);
const AJV_VERSION = (requireHere('ajv/package.json') as { version: string }).version;
// ajv's standalone module (CommonJS, a default export), loaded when a validator is saved.
const standaloneCode = (ajv: Ajv, validate: ValidateFunction): string =>
  (requireHere('ajv/dist/standalone') as { default: (ajv: Ajv, validate: ValidateFunction) => string }).default(ajv, validate);

/** The default directory: TOPOFORGE_CACHE_DIR/validators, else this package's node_modules/.cache. */
export function defaultCacheDir(): string {
  const env = process.env.TOPOFORGE_CACHE_DIR;
  if (env) return join(env, 'validators');
  return join(dirname(dirname(fileURLToPath(import.meta.url))), 'node_modules', '.cache', 'topoforge-validators');
}

export interface CacheStats {
  /** Schemas compiled by ajv in this process (a miss, or no cache). */
  compiled: number;
  /** Schemas whose validator was evaluated from a saved file. */
  loaded: number;
  /** Saved files that could not be used (unreadable or broken) and were compiled again. */
  rejected: number;
}

export class ValidatorCache {
  private ajvInstance: Ajv | undefined;
  private readonly byObject = new WeakMap<object, ValidateFunction>();
  private readonly byKey = new Map<string, ValidateFunction>();
  private readonly salt: string;
  readonly stats: CacheStats = { compiled: 0, loaded: 0, rejected: 0 };

  /**
   * @param options ajv's options (they are part of every key; `code.source` is turned on to save the code)
   * @param dir where validators are saved; false compiles every time
   */
  constructor(
    private readonly options: Options,
    private readonly dir: string | false = defaultCacheDir(),
  ) {
    this.salt = JSON.stringify({ ajv: AJV_VERSION, options });
  }

  // ajv's compiler is some 80 modules: loaded on the first miss only, so a process whose
  // validators are all saved never loads it.
  private get ajv(): Ajv {
    if (!this.ajvInstance) {
      const { Ajv: AjvClass } = requireHere('ajv') as typeof import('ajv');
      this.ajvInstance = new AjvClass({ ...this.options, code: { ...this.options.code, source: true } });
    }
    return this.ajvInstance;
  }

  compile(schema: object): ValidateFunction {
    const known = this.byObject.get(schema);
    if (known) return known;
    const key = createHash('sha256').update(this.salt).update('\0').update(JSON.stringify(schema)).digest('hex');
    const v = this.byKey.get(key) ?? this.load(key) ?? this.compileAndSave(schema, key);
    this.byKey.set(key, v);
    this.byObject.set(schema, v);
    return v;
  }

  private file(key: string): string | undefined {
    return this.dir === false ? undefined : join(this.dir, `${key}.cjs`);
  }

  private load(key: string): ValidateFunction | undefined {
    const file = this.file(key);
    if (file === undefined) return undefined;
    let code: string;
    try {
      code = readFileSync(file, 'utf8');
    } catch {
      return undefined; // not saved yet
    }
    try {
      const module = { exports: {} as unknown };
      // The code is ajv's own output for this very schema (the key says so), evaluated as the
      // CommonJS module it was written as.
      new Function('require', 'module', 'exports', code)(requireHere, module, module.exports);
      const v = module.exports;
      if (typeof v !== 'function') throw new Error('not a validator');
      this.stats.loaded++;
      return v as ValidateFunction;
    } catch {
      this.stats.rejected++;
      rmSync(file, { force: true });
      return undefined;
    }
  }

  private compileAndSave(schema: object, key: string): ValidateFunction {
    const v = this.ajv.compile(schema);
    this.stats.compiled++;
    const file = this.file(key);
    if (file !== undefined) {
      try {
        const code = standaloneCode(this.ajv, v);
        mkdirSync(dirname(file), { recursive: true });
        // Written whole, then renamed: processes (and worker threads, which share a pid) that
        // race see either no file or all of it.
        const temp = `${file}.${randomUUID()}.tmp`;
        try {
          writeFileSync(temp, code);
          renameSync(temp, file);
        } finally {
          rmSync(temp, { force: true });
        }
      } catch {
        // No cache this time (a read-only install, a full disk): the compiled validator still works.
      }
    }
    return v;
  }
}
