/**
 * The test stand's evidence: one record per finished canary run (Flagger's post-rollout
 * hook), with the version the target Deployment ran. Appended as JSON lines to a file, so a
 * restart of the gate keeps what it saw, and served at `GET /evidence` for
 * `topoforge verify --from-gate`, which turns it into ledger entries.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Evidence {
  readonly at: string;
  readonly environment: string;
  readonly dc: string;
  readonly namespace: string;
  readonly canary: string;
  readonly service: string;
  readonly version: string;
  readonly image: string;
  readonly result: 'succeeded' | 'failed';
  readonly phase: string;
  readonly checksum: string;
  readonly reason: string;
}

export class EvidenceStore {
  private readonly records: Evidence[] = [];
  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      for (const line of readFileSync(file, 'utf8').split('\n')) if (line.trim()) this.records.push(JSON.parse(line) as Evidence);
    }
  }
  add(e: Evidence): void {
    this.records.push(e);
    if (this.file) {
      mkdirSync(dirname(this.file), { recursive: true });
      appendFileSync(this.file, `${JSON.stringify(e)}\n`);
    }
  }
  all(): readonly Evidence[] {
    return [...this.records];
  }
}
