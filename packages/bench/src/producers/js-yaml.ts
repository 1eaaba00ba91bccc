/**
 * js-yaml dump + write of each object to its path, streaming like the floor.
 * Usage: node dist/producers/js-yaml.js <workload.json> <out>
 */
import jsYaml from 'js-yaml';
import { writeStreaming } from '../workload.js';

const [workload, out] = process.argv.slice(2) as [string, string];
writeStreaming(workload, out, (o) => jsYaml.dump(o, { lineWidth: -1, noRefs: true }));
