/**
 * The floor: JSON.stringify each object and write it to its path, streaming (one object held at
 * a time). Usage: node dist/producers/floor.js <workload.json> <out>
 */
import { writeStreaming } from '../workload.js';

const [workload, out] = process.argv.slice(2) as [string, string];
writeStreaming(workload, out, (o) => JSON.stringify(o));
