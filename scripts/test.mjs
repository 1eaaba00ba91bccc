#!/usr/bin/env node
// `pnpm test`: checks formatting, then builds, type-checks, lints and tests every package through turbo (cached per
// package), then
// reads each package's vitest JSON report and prints one plain closing line,
// `N passed, N failed, N skipped`, that CI reads. Exit code: turbo's.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const extra = process.argv.slice(2);
const groups = ['packages', 'plugins', 'test'];
const reports = () =>
  groups.flatMap((g) =>
    existsSync(join(root, g))
      ? readdirSync(join(root, g))
          .sort()
          .map((n) => [g, n, join(root, g, n, '.vitest-report.json')])
      : [],
  );
// Stale reports must not be counted; turbo restores the report of a cached run.
for (const [, , r] of reports()) if (existsSync(r)) rmSync(r);
// Whether ../shared (or TOPOFORGE_SHARED_DIR) is there is part of the test task's cache key
// (turbo.json lists the variable): a run with the CRDs must not be replayed in a clone without.
const sharedDir = process.env.TOPOFORGE_SHARED_DIR ?? join(root, '..', 'shared');
const sharedPresent = existsSync(join(sharedDir, 'crds')) ? '1' : '0';
if (sharedPresent === '0') console.log(`note: ${sharedDir}/crds is absent; tests that need the upstream CRDs skip`);
// Formatting (prettier, .prettierrc.json): a file that `pnpm format` would change fails the run,
// after every test has run.
const format = spawnSync('pnpm', ['exec', 'prettier', '--check', '--log-level=warn', '.'], { cwd: root, stdio: 'inherit' });
if (format.status !== 0) console.log('format: the files above differ from `pnpm format` (prettier); run it and commit');
const res = spawnSync('pnpm', ['exec', 'turbo', 'run', 'test', 'typecheck', 'lint', '--continue', '--concurrency=2', '--output-logs=new-only', ...extra], {
  cwd: root,
  stdio: 'inherit',
  env: { TURBO_TELEMETRY_DISABLED: '1', ...process.env, TOPOFORGE_SHARED_PRESENT: sharedPresent },
});

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const [group, name, report] of reports()) {
  if (!existsSync(report)) continue;
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed += r.numPassedTests ?? 0;
  failed += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  for (const file of r.testResults ?? []) {
    for (const t of file.assertionResults ?? []) if (t.status === 'failed') failures.push(`${group}/${name}: ${t.fullName}`);
    if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) {
      failed += 1;
      failures.push(`${group}/${name}: ${file.name} did not load: ${(file.message ?? '').split('\n')[0]}`);
    }
  }
}
// A full run (no filter): every package with a test script leaves a report (turbo restores a cached
// one). One missing is a test task that did not finish: turbo stopped by a signal exits 0 and
// leaves the tasks it killed unreported, which used to read as "N passed, 0 failed".
if (extra.length === 0)
  for (const [group, name, report] of reports()) {
    const pkg = join(root, group, name, 'package.json');
    if (!existsSync(pkg) || !JSON.parse(readFileSync(pkg, 'utf8')).scripts?.test || existsSync(report)) continue;
    failed += 1;
    failures.push(`${group}/${name}: no test report (its test task did not finish)`);
  }
if (failures.length) console.log(`\nFailed:\n${failures.map((f) => `  ${f}`).join('\n')}`);
const code = res.status === 0 && (format.status !== 0 || failed > 0) ? 1 : (res.status ?? 1);
if (code !== 0 && failed === 0) failed = 1; // a build, typecheck or lint failure counts as a failure
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(code);
