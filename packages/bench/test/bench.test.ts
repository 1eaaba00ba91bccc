import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { KEPT_MARKER, markdown, ratios, spliceMarkdown } from '../src/report.js';
import { changeSummary, listFiles, medianStats, ROW_LABELS, runBench, SCALE_ROWS, STARTUP_ROWS, type BenchResult } from '../src/whole.js';

let scratch = '';
afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the whole-process bench at a tiny scale (200 objects, 1 run)', () => {
  let result: BenchResult;

  it('runs every producer and scenario as a child process', async () => {
    const r = await runBench({ scales: [200], runs: 1, profileFrom: Infinity, serializers: false, keep: true, timeoutMs: 120_000 });
    result = r.result;
    scratch = r.scratch;
    for (const row of [...result.startup, ...result.scales[0]!.rows]) {
      expect(row.problem, row.id).toBeUndefined();
      expect(row.runs, row.id).toHaveLength(1);
      expect(row.median!.wallMs, row.id).toBeGreaterThan(0);
      expect(row.median!.maxRssMb, row.id).toBeGreaterThan(0);
    }
    expect(result.startup.map((r) => r.id)).toEqual(STARTUP_ROWS);
    expect(result.scales[0]!.rows.map((r) => r.id)).toEqual(SCALE_ROWS);
  }, 600_000);

  it('every producer wrote the same files at the same paths', () => {
    const s = result.scales[0]!;
    const dir = join(scratch, `s${s.target}`);
    const topoforge = listFiles(join(dir, 'out'));
    expect(topoforge).toHaveLength(s.objects);
    expect(topoforge[0]).toMatch(/^synthetic\/clusters\/dc\d+\/synthetic\/svc\d+\/deployment-svc\d+-part-\d+\.yaml$/);
    for (const p of ['floor', 'js-yaml', 'cdk8s']) expect(listFiles(join(dir, p)), p).toEqual(topoforge);
    for (const id of ['floor', 'js-yaml', 'cdk8s', 'render-empty'] as const) expect(s.rows.find((r) => r.id === id)!.files, id).toBe(s.objects);
  });

  it('the one-service change changes exactly that service’s objects', () => {
    const s = result.scales[0]!;
    const says = (id: string) => s.rows.find((r) => r.id === id)!.summary;
    expect(s.oneServiceObjects).toBeGreaterThan(0);
    // … and the environment's index (topoforge-index.json), whose hashes change with them.
    expect(says('render-one')).toBe(`0 added, ${s.oneServiceObjects + 1} changed, 0 removed`);
    expect(says('render-full')).toBe(`0 added, ${s.objects + 1} changed, 0 removed`);
    expect(says('render-none')).toBe('0 added, 0 changed, 0 removed');
    expect(says('check-one')).toBe(`${s.oneServiceObjects + 1} files differ`);
  });

  it('the report has every row, every ratio and keeps what follows the marker', () => {
    const md = markdown(result, 'docs/benchmarks.json');
    for (const id of [...STARTUP_ROWS, ...SCALE_ROWS]) expect(md).toContain(`| ${ROW_LABELS[id]} | 1 |`);
    const names = ratios(result).map((x) => x.name);
    expect(names).toContain('render (existing tree, every object changed) ÷ floor');
    expect(names).toContain('cdk8s ÷ render (how much faster than cdk8s)');
    expect(names).toContain('diff --against (one-service change) ÷ render');
    expect(
      ratios(result).filter(
        (x) => x.scale !== undefined && (x.value === undefined || (x.unit !== 'MB' && x.name.includes('÷') && !x.name.includes('RSS') && x.cpu === undefined)),
      ),
    ).toEqual([]);
    const old = `# Benchmarks\n\nold numbers\n\n${KEPT_MARKER}\n## Measured elsewhere\n\nkept\n`;
    const spliced = spliceMarkdown(old, md);
    expect(spliced).not.toContain('old numbers');
    expect(spliced.endsWith(`${KEPT_MARKER}\n## Measured elsewhere\n\nkept\n`)).toBe(true);
    expect(spliced.startsWith(md)).toBe(true);
  });
});

describe('helpers', () => {
  it('medians each measure on its own', () => {
    const s = (w: number, r: number) => ({ wallMs: w, userMs: w, sysMs: 0, cpuMs: w, maxRssMb: r });
    expect(medianStats([s(3, 10), s(1, 30), s(2, 20)])).toEqual(s(2, 20));
    expect(medianStats([s(1, 10), s(3, 30)]).wallMs).toBe(2);
  });

  it('reads the change a render or a check reports', () => {
    expect(changeSummary('a: 10 files (x 9); 1 added, 2 changed, 3 removed\nb: 5 files; 0 added, 1 changed, 0 removed\n')).toBe(
      '1 added, 3 changed, 3 removed',
    );
    expect(changeSummary('~ synthetic/a.yaml (differs)\n+ synthetic/b.yaml (not on disk)\n\nout/ is out of date\n')).toBe('2 files differ');
    expect(changeSummary('nothing\n')).toBeUndefined();
  });
});
