/**
 * The floor: JSON.stringify each object and write it to its path, streaming (one object held at
 * a time). Usage: node dist/producers/floor.js <workload.json> <out>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readWorkload, workloadFiles } from '../workload.js';

const [workload, out] = process.argv.slice(2) as [string, string];
const made = new Set<string>();
for (const f of workloadFiles(readWorkload(workload))) {
  if (!made.has(f.dir)) {
    mkdirSync(join(out, f.dir), { recursive: true });
    made.add(f.dir);
  }
  writeFileSync(join(out, f.path), JSON.stringify(f.object));
}
