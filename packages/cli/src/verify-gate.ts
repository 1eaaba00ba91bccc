/**
 * `topoforge verify --env staging --from-gate URL`: reads the staging promotion gate's
 * evidence (`GET URL/evidence`: every canary run it saw finish, with the version the target
 * Deployment ran) and writes the ledger — verified when every staging DC promoted a version,
 * failed (with the reason) when any rolled it back. Commit the ledger through a PR.
 */
import { relative } from 'node:path';
import { recordEvidence, type EvidenceRecord } from '@topoforge/promote';
import { reportDiagnostics } from './commands.js';
import { EXIT, type Io } from './io.js';

const FETCH_TIMEOUT_MS = 10_000;

function isRecord(v: unknown): v is EvidenceRecord {
  const r = v as Record<string, unknown>;
  return (
    typeof v === 'object' &&
    v !== null &&
    ['environment', 'dc', 'service', 'version', 'reason'].every((k) => typeof r[k] === 'string') &&
    (r['result'] === 'succeeded' || r['result'] === 'failed')
  );
}

/** Every staging DC runs its own gate: the evidence of all of them decides (a version is verified when every DC promoted it). */
export async function verifyFromGate(io: Io, o: { env: string; urls: readonly string[]; environments: string }): Promise<number> {
  const records: EvidenceRecord[] = [];
  for (const base of o.urls) {
    const url = `${base.replace(/\/+$/, '')}/evidence`;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { records?: unknown };
      if (!Array.isArray(body.records) || !body.records.every(isRecord)) throw new Error("the answer is not the gate's evidence ({records: [...]})");
      records.push(...body.records);
    } catch (err) {
      io.err(`error: cannot read the gate's evidence at ${url}: ${(err as Error).message}\n`);
      return EXIT.error;
    }
  }
  const r = recordEvidence({ environmentsDir: o.environments, env: o.env, records, cwd: io.cwd });
  if (!r.ok) return reportDiagnostics(io, r.diagnostics);
  const v = r.value;
  for (const x of v.verified) io.out(`verified: ${x}\n`);
  for (const x of v.failed) io.out(`failed:   ${x}\n`);
  for (const x of v.pending) io.out(`pending:  ${x}\n`);
  io.out(
    v.verified.length + v.failed.length > 0
      ? `wrote ${relative(io.cwd, v.path)}; commit it through a pull request.\n`
      : `nothing new in ${records.length} record(s).\n`,
  );
  return EXIT.ok;
}
