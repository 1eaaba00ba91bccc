/**
 * `pnpm bench`: whole processes, as a user waits for them — `topoforge render` (into an empty
 * output, into the existing tree with every object changed, with no change, after a one-service
 * change), `check` and `diff --against` with a one-service change, beside the floor
 * (JSON.stringify + write), js-yaml and cdk8s writing the same objects to the same paths; the
 * bundled environments and start-up; a CPU profile of render at 10k objects and more.
 *
 * Usage: node dist/run.js [--objects 1000 --objects 10000 …] [--million] [--runs 3]
 *        [--md docs/benchmarks.md] [--json docs/benchmarks.json] [--skip cdk8s …]
 *        [--no-profile] [--no-serializers] [--max-run-seconds 60] [--keep] [--profiles DIR]
 *        [--scratch DIR]  (where the trees are written, e.g. a tmpfs to leave the disk out)
 *        node dist/run.js --from-json docs/benchmarks.json --md docs/benchmarks.md  (the report again, no run)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { markdown, ratios, spliceMarkdown } from './report.js';
import { runBench, ROW_LABELS, type BenchResult, type RowId } from './whole.js';

const { values } = parseArgs({
  options: {
    objects: { type: 'string', multiple: true },
    million: { type: 'boolean' },
    runs: { type: 'string' },
    md: { type: 'string' },
    json: { type: 'string' },
    skip: { type: 'string', multiple: true },
    'no-profile': { type: 'boolean' },
    'no-serializers': { type: 'boolean' },
    'max-run-seconds': { type: 'string' },
    keep: { type: 'boolean' },
    profiles: { type: 'string' },
    'from-json': { type: 'string' },
    scratch: { type: 'string' },
  },
});

const scales = (values.objects ?? ['1000', '10000', '100000']).map(Number);
if (values.million) scales.push(1_000_000);
const skip = (values.skip ?? []) as RowId[];
for (const s of skip) if (!(s in ROW_LABELS)) throw new Error(`--skip ${s}: not one of ${Object.keys(ROW_LABELS).join(', ')}`);
const md = values.md ? resolve(values.md) : undefined;
const json = values.json ? resolve(values.json) : md ? md.replace(/\.md$/, '.json') : undefined;

async function measured(): Promise<BenchResult> {
  if (values['from-json']) return JSON.parse(readFileSync(values['from-json'], 'utf8')) as BenchResult;
  const { result, scratch } = await runBench({
    scales,
    runs: Number(values.runs ?? 3),
    skip,
    profileFrom: values['no-profile'] ? Infinity : 10_000,
    serializers: !values['no-serializers'],
    maxRunSeconds: Number(values['max-run-seconds'] ?? 60),
    keep: values.keep ?? false,
    ...(values.scratch ? { scratch: resolve(values.scratch) } : {}),
    timeoutMs: 60 * 60 * 1000,
    ...(values.profiles ? { profilesDir: resolve(values.profiles) } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (values.keep) process.stderr.write(`kept ${scratch}\n`);
  return result;
}

const result = await measured();

const text = markdown(result, json && md ? relative(resolve(md, '..', '..'), json) : undefined);
process.stdout.write(text);
if (md) writeFileSync(md, spliceMarkdown(existsSync(md) ? readFileSync(md, 'utf8') : '', text));
if (json) writeFileSync(json, JSON.stringify({ ...result, ratios: ratios(result) }, null, 2) + '\n');
