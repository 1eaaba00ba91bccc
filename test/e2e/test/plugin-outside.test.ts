/**
 * docs/plugins.md "A plugin outside this repository", command by command: pack the SDK,
 * scaffold a plugin in a temporary directory outside the workspace, install the tarballs
 * with plain npm, run the plugin's own tests and build, then render the bundled
 * environments with it enabled by path (its objects in the index), see its policy group
 * validated with a position, `check` and `plan` load it, and its risk rule fire in
 * `diff --base` (whose base render copies the environments to a temporary directory).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-outside-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sdk = join(work, 'sdk');
const pluginDir = join(work, 'team-quota');
const project = join(work, 'project');

function run(cwd: string, cmd: string, ...args: string[]) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', CI: '1' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const topoforge = (...args: string[]) => run(project, process.execPath, bin, ...args);
const git = (...args: string[]) => run(project, 'git', '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args);
const baseYaml = () => join(project, 'environments/base.yaml');
const editBase = (from: string, to: string) => {
  const text = readFileSync(baseYaml(), 'utf8');
  expect(text).toContain(from);
  writeFileSync(baseYaml(), text.replace(from, to));
};

describe('a plugin outside this repository (docs/plugins.md walk-through)', () => {
  beforeAll(() => {
    // 1. pack the SDK (in the topoforge checkout)
    const packed = run(repo, 'pnpm', 'pack:sdk', sdk);
    expect(packed.code, packed.out + packed.err).toBe(0);
    // 2. scaffold the plugin outside the workspace
    const created = run(work, process.execPath, bin, 'plugin', 'new', 'team-quota', '--dir', pluginDir, '--sdk-from', sdk);
    expect(created.code, created.err).toBe(0);
  }, 300_000);

  it('the scaffold installs with plain npm, and its own tests and build pass as generated', () => {
    const install = run(pluginDir, 'npm', 'install');
    expect(install.code, install.out + install.err).toBe(0);
    const test = run(pluginDir, 'npm', 'test');
    expect(test.code, test.out + test.err).toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(test.out.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests\s+4 passed/);
    const build = run(pluginDir, 'npm', 'run', 'build');
    expect(build.code, build.out + build.err).toBe(0);
  }, 600_000);

  it('render finds it by path; its objects are in the index; check and plan load it', () => {
    cpSync(join(repo, 'environments'), join(project, 'environments'), { recursive: true });
    // 3. enable it in base.yaml by a path relative to the environment files
    editBase('plugins:\n', 'plugins:\n  team-quota:\n    package: ../../team-quota\n');
    expect(git('init', '-q').code).toBe(0);
    expect(git('add', '-A').code).toBe(0);
    expect(git('commit', '-qm', 'environments with team-quota').code).toBe(0);

    const r = topoforge('render', '--environments', 'environments', '--out', 'out');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/production: \d+ files \(.*team-quota \d+/);
    const index = JSON.parse(readFileSync(join(project, 'out/production/topoforge-index.json'), 'utf8')) as { files: { path: string; plugin: string }[] };
    const mine = index.files.filter((f) => f.plugin === 'team-quota');
    expect(mine.length).toBeGreaterThan(10);
    expect(mine.every((f) => /^clusters\/[a-z0-9-]+\/team-quota\/[a-z0-9-]+\/resourcequota-team-quota\.yaml$/.test(f.path))).toBe(true);
    expect(readFileSync(join(project, 'out/production', mine[0]!.path), 'utf8')).toContain('pods: "10"');

    expect(topoforge('check', '--environments', 'environments', '--out', 'out').code).toBe(0);
    expect(topoforge('plan', '--environments', 'environments', '--env', 'staging').code).toBe(0);
  }, 300_000);

  it('its policy group is validated with the position, reported once for both environments', () => {
    editBase('policies:\n', 'policies:\n  teamQuota:\n    small: { cpu: lots, memory: 1Gi, pods: 4 }\n');
    const r = topoforge('render', '--environments', 'environments', '--out', 'out');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^environments\/base\.yaml:7:\d+: error TOPOLOGY_INVALID_VALUE: \[plugin team-quota\] policies\.teamQuota\.small\.cpu must match pattern "\^\[0-9\]\+m\?\$" \(got "lots"\) \(field policies\.teamQuota\.small\.cpu\)\n {4}hint: expected CPU requests, e\.g\. 2 or 500m\n {4}in environments: production, staging\n/,
    );
    expect(r.err).toContain('1 problem found; nothing was written.');
    editBase('cpu: lots', 'cpu: 500m');
  }, 300_000);

  it('its risk rule fires in diff --base (the plugin path resolves from the temporary copy of the base)', () => {
    editBase('    package: ../../team-quota\n', '    package: ../../team-quota\n    options: { pods: 4 }\n');
    const r = topoforge('diff', '--base', 'HEAD', '--environments', 'environments');
    expect(r.err).not.toContain('PLUGIN_NOT_FOUND');
    expect(r.code, r.err).toBe(3);
    expect(r.out).toMatch(
      /- \[ \] 🔸 medium · \*\*Resource quota reduced\*\* · production · ResourceQuota [a-z-]+\/team-quota in .*: spec\.hard\.pods 10 → 4 \(fewer pods may run\)\n {2}- why it matters: a rollout or a failover needs spare pods/,
    );
  }, 300_000);
});
