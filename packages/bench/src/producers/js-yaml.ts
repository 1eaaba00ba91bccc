/**
 * js-yaml dump + write of each object to its path, streaming like the floor.
 * Usage: node dist/producers/js-yaml.js <workload.json> <out>
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import jsYaml from 'js-yaml';
import { readWorkload, workloadFiles } from '../workload.js';

const [workload, out] = process.argv.slice(2) as [string, string];
const made = new Set<string>();
for (const f of workloadFiles(readWorkload(workload))) {
  if (!made.has(f.dir)) {
    mkdirSync(join(out, f.dir), { recursive: true });
    made.add(f.dir);
  }
  writeFileSync(join(out, f.path), jsYaml.dump(f.object, { lineWidth: -1, noRefs: true }));
}
