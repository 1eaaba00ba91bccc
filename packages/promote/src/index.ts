/**
 * Promotion from the test stand: versions verified in staging are carried into
 * production's environment file as a reviewable change; a version that never passed
 * staging is refused.
 *
 * The evidence is a ledger next to the environments, `verified/<from>.yaml`:
 *
 *   verified:
 *     online-store: ["7.4.2", "7.5.0"]
 *
 * written by `topoforge verify` when the staging canary of that version succeeded (the
 * staging pipeline runs it after Flagger's post-rollout webhook), and read here and by the
 * production canary's promotion gate. Files are edited with the `yaml` Document API, so
 * comments and layout survive (see edit.ts); the result is validated by loading it before it is written.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { acquireLock, LockTimeoutError, writeFileAtomic } from '@topoforge/safe-fs';
import { createTwoFilesPatch } from 'diff';
import { setVersions } from './edit.js';
import { addToLedger, ledgerPath, readLedger } from './ledger.js';
import {
  escapePointer,
  fail,
  loadEnvironments,
  recordedImages,
  untestedImages,
  unverifiedVersions,
  ok,
  readTopologyFile,
  type Diagnostic,
  type Environment,
  type Result,
  type SourcePosition,
} from '@topoforge/model';

export type { Ledger } from '@topoforge/model';
import type { Ledger } from '@topoforge/model';

/**
 * Runs `fn` holding `.<file>.lock` beside `file`: concurrent verify/promote runs edit one
 * at a time (each re-reads the file under the lock), so no update is lost.
 */
function locked<T>(file: string, fn: () => Result<T>): Result<T> {
  let release: () => void;
  try {
    release = acquireLock(join(dirname(file), `.${basename(file)}.lock`), { purpose: 'topoforge verify/promote' });
  } catch (err) {
    if (err instanceof LockTimeoutError)
      return fail([
        {
          code: 'PROMOTE_LOCKED',
          message: `another verify or promote is editing ${file}: ${err.message}`,
          hint: `wait for it; if none is running, delete ${err.path}`,
        },
      ]);
    throw err;
  }
  try {
    return fn();
  } finally {
    release();
  }
}

/** Service names are plain keys (a service may be called `constructor`). */
const isVerified = (l: Ledger, service: string, version: string): boolean => Object.hasOwn(l.verified, service) && l.verified[service]!.includes(version);
const failedReason = (l: Ledger, service: string, version: string): string | undefined =>
  Object.hasOwn(l.failed, service) && Object.hasOwn(l.failed[service]!, version) ? l.failed[service]![version] : undefined;

export interface VerifyRequest {
  readonly environmentsDir: string;
  readonly env: string;
  readonly service: string;
  readonly version: string;
  readonly cwd?: string;
}

/** Records that `service` at `version` passed the test stand `env`; refuses a version not deployed there. */
export function recordVerified(req: VerifyRequest): Result<{ readonly path: string; readonly changed: boolean }> {
  const cwd = req.cwd ?? process.cwd();
  const dir = resolve(cwd, req.environmentsDir);
  const envs = loadEnvironments(dir, { cwd });
  if (!envs.ok) return envs;
  const env = envs.value.find((e) => e.name === req.env);
  if (!env) return fail([{ code: 'TOPOLOGY_UNKNOWN_REFERENCE', message: `no environment named "${req.env}"` }]);
  if (env.stage !== 'staging')
    return fail([{ code: 'PROMOTE_VERSION_MISMATCH', message: `${req.env} is not a test stand (stage: ${env.stage}); only staging verifies versions` }]);
  const s = env.services.find((x) => x.name === req.service);
  if (!s) return fail([{ code: 'TOPOLOGY_UNKNOWN_REFERENCE', message: `no service "${req.service}" in ${req.env}` }]);
  if (s.version !== req.version) {
    return fail([
      {
        code: 'PROMOTE_VERSION_MISMATCH',
        message: `${req.env} runs ${req.service} ${s.version}, not ${req.version}`,
        hint: 'verify the version the test stand actually ran',
      },
    ]);
  }
  const path = ledgerPath(dir, req.env);
  mkdirSync(dirname(path), { recursive: true });
  return locked<{ readonly path: string; readonly changed: boolean }>(path, () => {
    const ledger = readLedger(path);
    if (!ledger.ok) return ledger;
    const failed = failedReason(ledger.value, req.service, req.version);
    if (failed !== undefined) {
      return fail([
        {
          code: 'PROMOTE_VERSION_FAILED',
          message: `${req.service} ${req.version} failed on ${req.env}: ${failed}`,
          field: `failed.${req.service}`,
          hint: 'a rolled-back version stays failed; fix it and verify a new version',
        },
      ]);
    }
    // Verified before its image was recorded: the image the stand runs it from is recorded now.
    const imageKnown = recordedImages(ledger.value, req.service)?.includes(s.image) ?? false;
    if (isVerified(ledger.value, req.service, req.version) && imageKnown) return ok({ path, changed: false });
    addToLedger(path, req.env, [{ service: req.service, version: req.version, result: 'verified', image: s.image }]);
    return ok({ path, changed: true });
  });
}

export interface PromoteRequest {
  readonly environmentsDir: string;
  readonly from: string;
  readonly to: string;
  /** Only these services; all that differ when empty. */
  readonly services?: readonly string[];
  readonly cwd?: string;
  readonly dryRun?: boolean;
}

export interface PromotionChange {
  readonly service: string;
  /** Versions; equal when only the image moves. */
  readonly from: string;
  readonly to: string;
  /** When the test stand runs another image than the target (e.g. a registry move done there first): carried too. */
  readonly image?: { readonly from: string; readonly to: string };
}

/** A service the test stand runs that a full promotion left out, and why (printed, never silent). */
export interface NotPromoted {
  readonly service: string;
  readonly reason: string;
}

export interface Promotion {
  readonly file: string;
  readonly changes: readonly PromotionChange[];
  /** Services only the test stand runs: left out of a promotion without --service, each with why. */
  readonly notPromoted: readonly NotPromoted[];
  /** Unified diff of the environment file. */
  readonly patch: string;
  readonly written: boolean;
}

export function promote(req: PromoteRequest): Result<Promotion> {
  const cwd = req.cwd ?? process.cwd();
  const dir = resolve(cwd, req.environmentsDir);
  const envs = loadEnvironments(dir, { cwd });
  if (!envs.ok) return envs;
  const byName = (n: string): Environment | undefined => envs.value.find((e) => e.name === n);
  const from = byName(req.from);
  const to = byName(req.to);
  if (!from || !to)
    return fail([
      {
        code: 'TOPOLOGY_UNKNOWN_REFERENCE',
        message: `no environment named "${!from ? req.from : req.to}"`,
        hint: `known: ${envs.value.map((e) => e.name).join(', ')}`,
      },
    ]);
  if (from.stage !== 'staging')
    return fail([{ code: 'PROMOTE_VERSION_MISMATCH', message: `promotion starts from the test stand; ${req.from} is ${from.stage}` }]);
  if (from.name === to.name)
    return fail([
      {
        code: 'PROMOTE_VERSION_MISMATCH',
        message: `cannot promote ${req.from} into itself`,
        hint: 'promote from the test stand into production: --from staging --to production',
      },
    ]);
  const ledger = readLedger(ledgerPath(dir, req.from));
  if (!ledger.ok) return ledger;
  const named = req.services !== undefined && req.services.length > 0;
  const wanted = named ? req.services! : from.services.map((s) => s.name);
  const problems: Diagnostic[] = [];
  const changes: PromotionChange[] = [];
  const notPromoted: NotPromoted[] = [];
  for (const name of wanted) {
    const a = from.services.find((s) => s.name === name);
    const b = to.services.find((s) => s.name === name);
    if (a && !b && !named) {
      // A new service starts on the test stand (with testStand, the only way to add one): it
      // must not block the others, and adding it to the target is a decision, not a promotion.
      notPromoted.push({ service: name, reason: `only ${req.from} runs it; add it to ${to.file} to promote it` });
      continue;
    }
    if (!a || !b) {
      problems.push({ code: 'TOPOLOGY_UNKNOWN_REFERENCE', message: `service "${name}" is not in both ${req.from} and ${req.to}` });
      continue;
    }
    // The ledger records tags only: the image staging ran the tag from goes with it.
    if (a.version === b.version && a.image === b.image) continue;
    const failed = failedReason(ledger.value, name, a.version);
    if (failed !== undefined) {
      problems.push({
        code: 'PROMOTE_VERSION_FAILED',
        ...positionOf(from, name),
        message: `${name} ${a.version} failed on ${req.from}: ${failed}`,
        field: `services.${name}.version`,
        hint: `${ledgerPath(req.environmentsDir, req.from)} marks it failed; fix it and let the ${req.from} canary verify a new version`,
      });
      continue;
    }
    if (!isVerified(ledger.value, name, a.version)) {
      problems.push({
        code: 'PROMOTE_NOT_VERIFIED',
        ...positionOf(from, name),
        message: `${name} ${a.version} never passed ${req.from}: it is not in ${ledgerPath(req.environmentsDir, req.from)}`,
        field: `services.${name}.version`,
        hint: `let the ${req.from} canary of ${name} ${a.version} succeed, then run \`topoforge verify --env ${req.from} --service ${name} --version ${a.version}\``,
      });
      continue;
    }
    // An image is carried only once the stand verified a version run from it (verify records
    // it); a ledger from before images were recorded vouches for none and holds none back.
    const images = recordedImages(ledger.value, name);
    if (a.image !== b.image && images !== undefined && !images.includes(a.image)) {
      problems.push({
        code: 'PROMOTE_IMAGE_NOT_TESTED',
        ...positionOf(from, name, 'image'),
        message: `${name}'s image ${a.image} never ran a version that passed ${req.from}: it is not under images in ${ledgerPath(req.environmentsDir, req.from)}`,
        field: `services.${name}.image`,
        hint: `once the ${req.from} canary of ${name} ${a.version} from ${a.image} succeeded, \`topoforge verify --env ${req.from} --service ${name} --version ${a.version}\` records the image`,
      });
      continue;
    }
    changes.push({ service: name, from: b.version, to: a.version, ...(a.image !== b.image ? { image: { from: b.image, to: a.image } } : {}) });
  }
  if (problems.length) return fail(problems);
  const file = resolve(cwd, to.file);
  if (changes.length === 0) return ok({ file: to.file, changes, notPromoted, patch: '', written: false });
  return locked(file, () => writePromotion(file, to.file, dir, cwd, changes, notPromoted, req.dryRun ?? false));
}

function writePromotion(
  file: string,
  shown: string,
  dir: string,
  cwd: string,
  changes: readonly PromotionChange[],
  notPromoted: readonly NotPromoted[],
  dryRun: boolean,
): Result<Promotion> {
  const before = readFileSync(file, 'utf8');
  const to = { file: shown };
  let after: string;
  try {
    after = setVersions(
      before,
      changes.map((c) => ({ service: c.service, ...(c.image ? { image: c.image.to } : {}), ...(c.from !== c.to ? { version: c.to } : {}) })),
    );
  } catch (err) {
    return fail([
      { code: 'PROMOTE_VERSION_MISMATCH', message: `cannot edit ${to.file}: ${(err as Error).message}`, position: { file: to.file, line: 1, column: 1 } },
    ]);
  }
  // Validate the promoted environment before touching the file.
  const check = loadEnvironments(dir, { cwd, readFile: (p) => (resolve(p) === file ? after : readTopologyFile(p)) });
  if (!check.ok) return check;
  const patch = createTwoFilesPatch(to.file, to.file, before, after, '', '', { context: 2 });
  if (!dryRun) writeFileAtomic(file, after);
  return ok({ file: to.file, changes, notPromoted, patch, written: !dryRun });
}

export interface AuditRequest {
  readonly environmentsDir: string;
  /** The test stand whose ledger is the evidence. */
  readonly from: string;
  /** The environment whose versions must all be in that ledger. */
  readonly to: string;
  readonly cwd?: string;
}

/**
 * Every version `to` runs must be in the ledger of `from`. `promote` guarantees this for the
 * versions it writes; this catches the other ways a version reaches production's inputs —
 * a hand edit of production.yaml, or a version bump in base.yaml, which both environments
 * inherit at once. Run it in CI on every change to environments/; a production environment
 * that names its test stand (`testStand`) gets the same check from every render.
 */
export function audit(req: AuditRequest): Result<{ readonly checked: number }> {
  const cwd = req.cwd ?? process.cwd();
  const dir = resolve(cwd, req.environmentsDir);
  const envs = loadEnvironments(dir, { cwd });
  if (!envs.ok) return envs;
  const from = envs.value.find((e) => e.name === req.from);
  const to = envs.value.find((e) => e.name === req.to);
  if (!from || !to)
    return fail([
      {
        code: 'TOPOLOGY_UNKNOWN_REFERENCE',
        message: `no environment named "${!from ? req.from : req.to}"`,
        hint: `known: ${envs.value.map((e) => e.name).join(', ')}`,
      },
    ]);
  if (from.stage !== 'staging')
    return fail([{ code: 'PROMOTE_VERSION_MISMATCH', message: `the evidence comes from the test stand; ${req.from} is ${from.stage}` }]);
  // The check render makes of a production environment that names its test stand (see
  // unverifiedVersions), here for any pair, whether `to` names `from` or not.
  const target = [{ ...to, testStand: req.from }];
  const problems = [...unverifiedVersions(envs.value, target), ...untestedImages(envs.value, target)];
  return problems.length ? fail(problems) : ok({ checked: to.services.length });
}

function positionOf(env: Environment, service: string, field: 'version' | 'image' = 'version'): { position?: SourcePosition } {
  const at = env.sourceMap.get(`/services/${escapePointer(service)}/${field}`);
  return at ? { position: at.value } : {};
}

export { setVersions, type VersionEdit } from './edit.js';
export { recordEvidence, type EvidenceRecord, type EvidenceRequest, type EvidenceOutcome } from './evidence.js';
export { addToLedger, ledgerPath, readLedger, type LedgerEntry } from './ledger.js';
