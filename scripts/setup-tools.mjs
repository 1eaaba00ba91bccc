#!/usr/bin/env node
// Installs the real tools the tests run against, from Debian's packages, when missing:
// promtool and a real Prometheus (package `prometheus`), Alertmanager and amtool,
// redis-server and redis-sentinel, PostgreSQL and pgBackRest, etcd (behind the sandbox's
// kube-apiservers), Chromium (driven by playwright-core), faketime (runs the Velero backup
// hook's shell under a fake clock), git, GNU time (`pnpm bench` reads a child's CPU and peak RSS
// from it), and Go with robfig/cron's source (re-runs the real
// robfig against our port). Then builds the Go-built tools (scripts/build-tools.mjs), when
// that script exists. Needs root (or sudo). Nothing is downloaded from anywhere else.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const tools = [
  { bin: 'promtool', pkg: 'prometheus' },
  { bin: 'amtool', pkg: 'prometheus-alertmanager' },
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'redis-sentinel', pkg: 'redis-sentinel' },
  { bin: 'postgresql 15', pkg: 'postgresql', path: '/usr/lib/postgresql/15/bin/initdb' },
  { bin: 'pgbackrest', pkg: 'pgbackrest' },
  { bin: 'etcd', pkg: 'etcd-server' },
  { bin: 'chromium', pkg: 'chromium' },
  { bin: 'git', pkg: 'git' },
  { bin: 'faketime', pkg: 'faketime' },
  { bin: 'GNU time', pkg: 'time', path: '/usr/bin/time' },
  { bin: 'go', pkg: 'golang-go' },
  { bin: 'robfig/cron source', pkg: 'golang-github-robfig-cron-dev', path: '/usr/share/gocode/src/github.com/robfig/cron/spec.go' },
];
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
const present = (t) => (t.path ? existsSync(t.path) : has(t.bin));
const missing = tools.filter((t) => !present(t));
const buildTools = () => {
  const script = new URL('./build-tools.mjs', import.meta.url).pathname;
  if (!existsSync(script)) return;
  // TOPOFORGE_CLUSTER_TOOLS=0 skips them (a machine that only renders); CI bounds the build with
  // TOPOFORGE_TOOLS_DEADLINE (see .ci/run and build-tools.mjs).
  if (process.env.TOPOFORGE_CLUSTER_TOOLS === '0') {
    console.log('setup:tools: cluster tools (kube-apiserver, kubectl, pulumi) not built: TOPOFORGE_CLUSTER_TOOLS=0');
    return;
  }
  const r = spawnSync(process.execPath, [script], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
if (missing.length === 0) {
  console.log(`setup:tools: ${tools.map((t) => t.bin).join(', ')} already installed`);
  buildTools();
  process.exit(0);
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const sudo = isRoot ? [] : ['sudo'];
if (!has('apt-get')) {
  console.error(
    `setup:tools: missing ${missing.map((t) => t.bin).join(', ')} and no apt-get here; install Debian packages ${missing.map((t) => t.pkg).join(' ')} (or equivalents) yourself`,
  );
  process.exit(1);
}
const run = (args) =>
  execFileSync(sudo.length ? 'sudo' : args[0], sudo.length ? args : args.slice(1), {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
console.log(`setup:tools: installing ${missing.map((t) => t.pkg).join(' ')} from Debian`);
run(['apt-get', 'update', '-qq']);
run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing.map((t) => t.pkg)]);
// Debian's packages may start services on install; the tests start their own servers.
for (const svc of ['redis-server', 'redis-sentinel', 'prometheus', 'prometheus-alertmanager', 'postgresql', 'etcd'])
  spawnSync('sh', ['-c', `service ${svc} stop >/dev/null 2>&1 || true`]);
const still = missing.filter((t) => !present(t));
if (still.length) {
  console.error(`setup:tools: still missing ${still.map((t) => t.bin).join(', ')}`);
  process.exit(1);
}
console.log('setup:tools: Debian packages done');
buildTools();
