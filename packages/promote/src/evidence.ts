/**
 * Turning the test stand's evidence into ledger entries: what the staging promotion gate
 * recorded from Flagger's post-rollout hooks (`GET /evidence`), one record per DC and run.
 *
 * - A rollback in any staging DC marks the version failed, with the gate's reason — even if
 *   another DC promoted it: the test stand found a problem.
 * - A version is verified once every staging DC where the service runs promoted it.
 * - Anything else is pending (reported, nothing written): not all DCs have finished.
 */
import { resolve } from 'node:path';
import { byString } from '@topoforge/model';
import { fail, loadEnvironments, ok, type Result } from '@topoforge/model';
import { addToLedger, ledgerPath, readLedger, type LedgerEntry } from './ledger.js';

/** One record as the gate serves it (packages/promotion-gate, Evidence). */
export interface EvidenceRecord {
  readonly environment: string;
  readonly dc: string;
  readonly service: string;
  readonly version: string;
  readonly result: 'succeeded' | 'failed';
  readonly reason: string;
  readonly at?: string;
}

export interface EvidenceRequest {
  readonly environmentsDir: string;
  readonly env: string;
  readonly records: readonly EvidenceRecord[];
  readonly cwd?: string;
}

export interface EvidenceOutcome {
  readonly path: string;
  readonly verified: readonly string[];
  readonly failed: readonly string[];
  /** Versions still waiting for some DCs, with those DCs. */
  readonly pending: readonly string[];
  /** Already in the ledger. */
  readonly known: readonly string[];
}

export function recordEvidence(req: EvidenceRequest): Result<EvidenceOutcome> {
  const cwd = req.cwd ?? process.cwd();
  const dir = resolve(cwd, req.environmentsDir);
  const envs = loadEnvironments(dir, { cwd });
  if (!envs.ok) return envs;
  const env = envs.value.find((e) => e.name === req.env);
  if (!env) return fail([{ code: 'TOPOLOGY_UNKNOWN_REFERENCE', message: `no environment named "${req.env}"` }]);
  if (env.stage !== 'staging')
    return fail([{ code: 'PROMOTE_VERSION_MISMATCH', message: `${req.env} is not a test stand (stage: ${env.stage}); only staging verifies versions` }]);
  const foreign = req.records.find((r) => r.environment !== req.env);
  if (foreign)
    return fail([
      {
        code: 'PROMOTE_VERSION_MISMATCH',
        message: `the evidence comes from ${foreign.environment}/${foreign.dc}, not from ${req.env}`,
        hint: `read the evidence of the ${req.env} gate`,
      },
    ]);
  const path = ledgerPath(dir, req.env);
  const ledger = readLedger(path);
  if (!ledger.ok) return ledger;

  const runs = new Map<string, { service: string; version: string; ok: Set<string>; failed?: string }>();
  for (const r of req.records) {
    const key = `${r.service} ${r.version}`;
    const run = runs.get(key) ?? { service: r.service, version: r.version, ok: new Set<string>() };
    if (r.result === 'failed') run.failed ??= r.reason;
    else run.ok.add(r.dc);
    runs.set(key, run);
  }
  const entries: LedgerEntry[] = [];
  const out = { verified: [] as string[], failed: [] as string[], pending: [] as string[], known: [] as string[] };
  for (const [key, run] of [...runs.entries()].sort(([a], [b]) => byString(a, b))) {
    const s = env.services.find((x) => x.name === run.service);
    if (!s) return fail([{ code: 'TOPOLOGY_UNKNOWN_REFERENCE', message: `the evidence names service "${run.service}", which ${req.env} does not run` }]);
    if (run.failed !== undefined) {
      if (ledger.value.failed[run.service]?.[run.version] !== undefined) out.known.push(key);
      else {
        entries.push({ service: run.service, version: run.version, result: 'failed', reason: run.failed });
        out.failed.push(key);
      }
      continue;
    }
    if (ledger.value.verified[run.service]?.includes(run.version)) {
      out.known.push(key);
      continue;
    }
    const missing = s.dataCenters.filter((d) => !run.ok.has(d));
    if (missing.length > 0) {
      out.pending.push(`${key} (waiting for ${missing.join(', ')})`);
      continue;
    }
    entries.push({ service: run.service, version: run.version, result: 'verified', image: s.image });
    out.verified.push(key);
  }
  if (entries.length) addToLedger(path, req.env, entries);
  return ok({ path, ...out });
}
