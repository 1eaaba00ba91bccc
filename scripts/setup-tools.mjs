#!/usr/bin/env node
// Installs the real tools the tests run against, from Debian's packages, when missing:
// promtool (package `prometheus`), redis-server, faketime (runs the Velero backup hook's
// shell under a fake clock), and Go with robfig/cron's source (re-runs the real robfig
// against our port). Needs root (or sudo). Nothing is downloaded from anywhere else.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const tools = [
  { bin: 'promtool', pkg: 'prometheus' },
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'faketime', pkg: 'faketime' },
  { bin: 'go', pkg: 'golang-go' },
  { bin: 'robfig/cron source', pkg: 'golang-github-robfig-cron-dev', path: '/usr/share/gocode/src/github.com/robfig/cron/spec.go' },
];
const has = (bin) => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
const present = (t) => (t.path ? existsSync(t.path) : has(t.bin));
const missing = tools.filter((t) => !present(t));
if (missing.length === 0) {
  console.log(`setup:tools: ${tools.map((t) => t.bin).join(', ')} already installed`);
  process.exit(0);
}
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const sudo = isRoot ? [] : ['sudo'];
if (!has('apt-get')) {
  console.error(`setup:tools: missing ${missing.map((t) => t.bin).join(', ')} and no apt-get here; install Debian packages ${missing.map((t) => t.pkg).join(' ')} (or equivalents) yourself`);
  process.exit(1);
}
const run = (args) => execFileSync(sudo.length ? 'sudo' : args[0], sudo.length ? args : args.slice(1), { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
console.log(`setup:tools: installing ${missing.map((t) => t.pkg).join(' ')} from Debian`);
run(['apt-get', 'update', '-qq']);
run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...missing.map((t) => t.pkg)]);
// Debian's packages may start services on install; the tests start their own servers.
for (const svc of ['redis-server', 'prometheus']) spawnSync('sh', ['-c', `service ${svc} stop >/dev/null 2>&1 || true`]);
const still = missing.filter((t) => !present(t));
if (still.length) {
  console.error(`setup:tools: still missing ${still.map((t) => t.bin).join(', ')}`);
  process.exit(1);
}
console.log('setup:tools: done');
