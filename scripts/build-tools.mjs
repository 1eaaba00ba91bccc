#!/usr/bin/env node
// Builds the real cluster tools the sandbox and the Pulumi end-to-end tests run — kube-apiserver and
// kubectl, the Pulumi CLI, a Node.js language host, the Kubernetes resource provider — from Go
// modules pinned in tools/go/<tool>/go.mod + go.sum (wrapper modules, outside the pnpm workspace).
// Nothing is downloaded but Go modules through the module proxy; no prebuilt binary is fetched.
//
// Output: a tools cache outside the repository,
//   ~/.cache/topoforge/tools/builds/<tool>-<key>/   one directory per tool, key = hash of its pins
//   ~/.cache/topoforge/tools/<set key>/bin/          symlinks to every tool of this checkout
// (TOPOFORGE_TOOLS_CACHE moves the root). A second run builds nothing: each tool directory holds a
// stamp naming its key and the Go version, and is rebuilt only when a binary or the stamp is
// missing or different. Go's module and build caches live beside it (~/.cache/topoforge/go).
//
//   node scripts/build-tools.mjs               build what is missing, print each build and its time
//   node scripts/build-tools.mjs --print-bin-dir   print the bin directory for this checkout only
//
// TOPOFORGE_TOOLS_DEADLINE=<unix seconds>: stop building at that time (CI sets it so that a slow
// cold build cannot eat the time its tests need). What was compiled stays in Go's build cache, so
// the next run resumes; the suites that need a missing tool say so and do not run. Exit status 0
// in that case, with a message naming what was not built.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const toolsSrc = join(repo, 'tools', 'go');
const cacheRoot = process.env.TOPOFORGE_TOOLS_CACHE ?? join(homedir(), '.cache', 'topoforge');
const toolsRoot = join(cacheRoot, 'tools');

const K8S = 'v1.34.4';
const PULUMI = 'v3.248.0';
const PROVIDER_MODULE = 'github.com/pulumi/pulumi-kubernetes/provider/v4';
const PROVIDER = 'v4.0.0-20260115033456-f47bc2d6f199';

/** What each wrapper module builds. `version` is stamped into the binaries and the cache key. */
const tools = [
  {
    name: 'kubernetes',
    version: K8S,
    bins: [
      { bin: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver' },
      { bin: 'kubectl', pkg: 'k8s.io/kubernetes/cmd/kubectl' },
      // Only for its namespace controller: without it a deleted Namespace stays Terminating.
      { bin: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager' },
    ],
    // What `make` stamps: kubectl compares its version with the server's, the server reports it.
    ldflags: (() => {
      const [major, minor] = K8S.slice(1).split('.');
      return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((p) => [
        `-X ${p}.gitVersion=${K8S}`,
        `-X ${p}.gitMajor=${major}`,
        `-X ${p}.gitMinor=${minor}`,
        `-X ${p}.gitTreeState=clean`,
      ]);
    })(),
  },
  {
    name: 'pulumi',
    version: PULUMI,
    bins: [
      { bin: 'pulumi', pkg: 'github.com/pulumi/pulumi/pkg/v3/cmd/pulumi' },
      { bin: 'pulumi-language-nodejs', pkg: './cmd/pulumi-language-nodejs' },
    ],
    ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=${PULUMI}`],
  },
  {
    name: 'pulumi-kubernetes',
    version: PROVIDER,
    bins: [{ bin: 'pulumi-resource-kubernetes', pkg: `${PROVIDER_MODULE}/cmd/pulumi-resource-kubernetes` }],
    ldflags: [`-X ${PROVIDER_MODULE}/pkg/version.Version=${PROVIDER.slice(1)}`],
    prepare: prepareProvider,
  },
];

/** Every file of a wrapper module that decides what gets built, hashed with the tool's settings. */
function toolKey(tool) {
  const h = createHash('sha256');
  h.update(JSON.stringify({ name: tool.name, version: tool.version, bins: tool.bins, ldflags: tool.ldflags, flags: buildFlags }));
  const dir = join(toolsSrc, tool.name);
  const walk = (d) =>
    readdirSync(d)
      .sort()
      .flatMap((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : [join(d, n)]));
  for (const f of walk(dir)) {
    h.update(relative(dir, f));
    h.update('\0');
    h.update(readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex').slice(0, 12);
}

const buildFlags = ['-trimpath', '-ldflags'];
const goEnv = () => ({
  ...process.env,
  GOMODCACHE: process.env.TOPOFORGE_GOMODCACHE ?? join(cacheRoot, 'go', 'mod'),
  GOCACHE: process.env.TOPOFORGE_GOCACHE ?? join(cacheRoot, 'go', 'build'),
  // The go.sum files pin every module; a build never edits them.
  GOFLAGS: '-mod=readonly',
  CGO_ENABLED: '0',
  GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
});

class DeadlineReached extends Error {}
const deadline = process.env.TOPOFORGE_TOOLS_DEADLINE ? Number(process.env.TOPOFORGE_TOOLS_DEADLINE) * 1000 : undefined;
if (deadline !== undefined && !Number.isFinite(deadline))
  throw new Error(`TOPOFORGE_TOOLS_DEADLINE must be unix seconds, not ${process.env.TOPOFORGE_TOOLS_DEADLINE}`);

function go(args, cwd, env = goEnv()) {
  const left = deadline === undefined ? undefined : deadline - Date.now();
  if (left !== undefined && left <= 0) throw new DeadlineReached();
  const r = spawnSync('go', args, {
    cwd,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
    ...(left !== undefined ? { timeout: left, killSignal: 'SIGKILL' } : {}),
  });
  if (left !== undefined && (r.signal === 'SIGKILL' || r.error?.code === 'ETIMEDOUT')) throw new DeadlineReached();
  if (r.error) throw new Error(`go ${args[0]}: ${r.error.message} (is Go on PATH? it is /usr/local/go/bin on the project's machines)`);
  if (r.status !== 0) throw new Error(`go ${args.join(' ')} failed in ${cwd} (exit ${r.status})`);
}

function goOut(args, cwd) {
  const r = spawnSync('go', args, { cwd, env: goEnv(), encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/**
 * pulumi-resource-kubernetes embeds files its own generate.go writes (schema.json with the version
 * set, minified; the terraform mapping, minified). Copy the pinned module out of the read-only module
 * cache, point its sdk/v4 replace at the pinned release, run generate.go there, and let the wrapper
 * build against the copy. Returns the extra `go mod edit` replace for the wrapper.
 */
function prepareProvider(work) {
  // `go list -m` names the module's directory only once the module is in the module cache: on a
  // cold cache it prints an empty Dir (a cold CI failed here with "lstat ''"), so download it first.
  go(['mod', 'download', PROVIDER_MODULE], work);
  const modDir = goOut(['list', '-m', '-f', '{{.Dir}}', PROVIDER_MODULE], work);
  if (!modDir || !existsSync(modDir)) throw new Error(`${PROVIDER_MODULE} is not in the module cache after go mod download (go list -m printed "${modDir}")`);
  const src = join(work, 'provider');
  cpSync(modDir, src, { recursive: true });
  const chmodAll = (d) => {
    chmodSync(d, 0o755);
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) chmodAll(p);
      else chmodSync(p, 0o644);
    }
  };
  chmodAll(src);
  go(
    [
      'mod',
      'edit',
      '-dropreplace',
      'github.com/pulumi/pulumi-kubernetes/sdk/v4',
      '-replace',
      'github.com/pulumi/pulumi-kubernetes/sdk/v4=github.com/pulumi/pulumi-kubernetes/sdk/v4@v4.24.0',
    ],
    src,
  );
  cpSync(join(work, 'go.sum'), join(src, 'go.sum'));
  const gen = join(src, 'cmd', 'pulumi-resource-kubernetes');
  go(['run', 'generate.go'], gen, { ...goEnv(), VERSION: PROVIDER.slice(1) });
  for (const f of ['schema-embed.json', 'terraform-mapping-embed.json']) {
    if (!existsSync(join(gen, f))) throw new Error(`generate.go did not write ${f}`);
  }
  go(['mod', 'edit', '-replace', `${PROVIDER_MODULE}=${src}`], work);
}

function goVersion() {
  return goOut(['env', 'GOVERSION'], repo);
}

function build(tool, dest, key, gover) {
  const started = Date.now();
  const work = `${dest}.work`;
  rmSync(work, { recursive: true, force: true });
  cpSync(join(toolsSrc, tool.name), work, { recursive: true });
  if (tool.prepare) tool.prepare(work);
  const bin = join(`${dest}.tmp`, 'bin');
  rmSync(`${dest}.tmp`, { recursive: true, force: true });
  mkdirSync(bin, { recursive: true });
  const ldflags = ['-s', '-w', ...tool.ldflags].join(' ');
  go(['build', '-trimpath', `-ldflags=${ldflags}`, '-o', `${bin}/`, ...tool.bins.map((b) => b.pkg)], work);
  for (const b of tool.bins) if (!existsSync(join(bin, b.bin))) throw new Error(`${tool.name}: ${b.bin} was not built`);
  const seconds = Math.round((Date.now() - started) / 1000);
  writeFileSync(
    join(`${dest}.tmp`, 'stamp.json'),
    `${JSON.stringify({ tool: tool.name, version: tool.version, key, go: gover, seconds, bins: tool.bins.map((b) => b.bin) }, null, 2)}\n`,
  );
  rmSync(dest, { recursive: true, force: true });
  renameSync(`${dest}.tmp`, dest);
  rmSync(work, { recursive: true, force: true });
  return seconds;
}

function upToDate(dest, tool, key, gover) {
  const stampFile = join(dest, 'stamp.json');
  if (!existsSync(stampFile)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    return stamp.key === key && stamp.go === gover && tool.bins.every((b) => existsSync(join(dest, 'bin', b.bin)));
  } catch {
    return false;
  }
}

function setDir() {
  const keys = tools.map((t) => `${t.name}-${toolKey(t)}`);
  const setKey = createHash('sha256').update(keys.join('\n')).digest('hex').slice(0, 12);
  return { keys, dir: join(toolsRoot, setKey) };
}

if (process.argv.includes('--print-bin-dir')) {
  console.log(join(setDir().dir, 'bin'));
  process.exit(0);
}

const total = Date.now();
// Leftovers of an interrupted run (a build is staged in <dir>.work/<dir>.tmp, then renamed).
if (existsSync(join(toolsRoot, 'builds'))) {
  for (const n of readdirSync(join(toolsRoot, 'builds'))) if (/\.(tmp|work)$/.test(n)) rmSync(join(toolsRoot, 'builds', n), { recursive: true, force: true });
}
const gover = goVersion();
const { keys, dir } = setDir();
let built = 0;
try {
  for (const [i, tool] of tools.entries()) {
    const dest = join(toolsRoot, 'builds', keys[i]);
    if (upToDate(dest, tool, keys[i], gover)) {
      console.log(`build-tools: ${tool.name} ${tool.version} up to date (${dest})`);
      continue;
    }
    console.log(`build-tools: building ${tool.name} ${tool.version} (${tool.bins.map((b) => b.bin).join(', ')}) with ${gover}…`);
    const seconds = build(tool, dest, keys[i], gover);
    built += 1;
    console.log(`build-tools: built ${tool.name} in ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`);
  }
} catch (e) {
  if (e instanceof DeadlineReached) {
    const missing = tools.filter((t, i) => !upToDate(join(toolsRoot, 'builds', keys[i]), t, keys[i], gover)).map((t) => t.name);
    linkBins();
    console.log(
      `build-tools: stopped at TOPOFORGE_TOOLS_DEADLINE after ${Math.round((Date.now() - total) / 1000)}s; not built: ${missing.join(', ')}. Run it again to resume (Go's build cache keeps what was compiled); the suites that need these tools say why they do not run.`,
    );
    process.exit(0);
  }
  console.error(`build-tools: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
// The per-checkout bin directory: one symlink per binary of every tool that is built, so PATH
// needs one entry (after a deadline stop, the tools that were built are usable on their own).
function linkBins() {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  for (const [i, tool] of tools.entries()) {
    if (!upToDate(join(toolsRoot, 'builds', keys[i]), tool, keys[i], gover)) continue;
    for (const b of tool.bins) {
      const link = join(bin, b.bin);
      rmSync(link, { force: true });
      symlinkSync(join(toolsRoot, 'builds', keys[i], 'bin', b.bin), link);
    }
  }
  return bin;
}
const bin = linkBins();
const secs = Math.round((Date.now() - total) / 1000);
console.log(`build-tools: ${built === 0 ? 'nothing to build' : `${built} tool(s) built`} in ${secs}s; binaries in ${bin}`);
