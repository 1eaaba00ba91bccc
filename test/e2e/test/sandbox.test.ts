/**
 * The render applied for real, on sandbox clusters (one real kube-apiserver per DC):
 *  - the GitOps path as Argo CD / Flux apply it: each DC directory with
 *    `kubectl apply --server-side --validate=strict`, which sends the API's `fieldValidation=Strict`, Namespaces first;
 *  - the Pulumi path: the emitted program, `npm ci` as the README says, the real Pulumi engine
 *    (CLI, language host, Kubernetes provider built by setup:tools) with a local file backend:
 *    up, preview --expect-no-changes, a one-service version bump, a DC removed, destroy.
 * No mocks. Skipped (with the message) only when ../shared is absent; missing binaries fail.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { findSharedDir, SHARED_MISSING } from '@topoforge/crd-validate';
import { loadEnvironment } from '@topoforge/model';
import { PREREQUISITE_NAMESPACES, readState, requireTool, SETUP_HINT, stopSandbox, toolsAvailable, type SandboxState } from '@topoforge/sandbox';

// The cluster tools are built from Go modules by `TOPOFORGE_CLUSTER_TOOLS=1 pnpm run setup:tools`
// (opt-in until a cold build is proven to fit CI): without them these suites say why they do not run.
const clusterTools = toolsAvailable();
const pulumiTools =
  clusterTools &&
  (() => {
    try {
      for (const t of ['pulumi', 'pulumi-language-nodejs', 'pulumi-resource-kubernetes'] as const) requireTool(t);
      return true;
    } catch {
      return false;
    }
  })();
if (!clusterTools)
  console.warn(`sandbox.test.ts: real API server suites not run: kube-apiserver, kube-controller-manager, kubectl or etcd not found — ${SETUP_HINT}`);
else if (!pulumiTools)
  console.warn(`sandbox.test.ts: Pulumi engine suite not run: pulumi, pulumi-language-nodejs or pulumi-resource-kubernetes not found — ${SETUP_HINT}`);
import { idOf, labelledObjects, renderedObjects, run, type RenderedObject } from './cluster.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const cli = join(repo, 'packages/cli/bin/topoforge.js');
const shared = findSharedDir(repo);
if (!shared) console.warn(SHARED_MISSING);
const work = mkdtempSync(join(tmpdir(), 'topoforge-sandbox-e2e-'));
const sandboxes: string[] = [];
afterAll(async () => {
  for (const d of sandboxes) if (readState(d)) await stopSandbox(d);
  rmSync(work, { recursive: true, force: true });
}, 300_000);

/** Timings for docs/benchmarks.md, printed at the end. */
const timings: string[] = [];
afterAll(() => {
  if (timings.length) console.log(`sandbox e2e timings:\n${timings.map((t) => `  ${t}`).join('\n')}`);
  if (process.env.TOPOFORGE_TIMINGS_FILE) appendFileSync(process.env.TOPOFORGE_TIMINGS_FILE, timings.map((t) => `${t}\n`).join(''));
});

function topoforge(cwd: string, ...args: string[]) {
  return run(process.execPath, [cli, ...args], { cwd });
}

/** A copy of the environments, rendered into `<root>/out`; edits go to the copy. */
function workspace(name: string): {
  root: string;
  out: string;
  render: () => void;
  edit: (file: string, fn: (doc: ReturnType<typeof parseDocument>) => void) => void;
} {
  const root = join(work, name);
  cpSync(join(repo, 'environments'), join(root, 'environments'), { recursive: true });
  const out = join(root, 'out');
  const render = () => {
    // from the repo (where the plugins resolve), on the copy
    const r = topoforge(repo, 'render', '--environments', join(root, 'environments'), '--out', out);
    expect(r.code, r.err).toBe(0);
  };
  const edit = (file: string, fn: (doc: ReturnType<typeof parseDocument>) => void) => {
    const p = join(root, 'environments', file);
    const doc = parseDocument(readFileSync(p, 'utf8'));
    fn(doc);
    writeFileSync(p, doc.toString());
  };
  return { root, out, render, edit };
}

function sandboxUp(env: string, environments: string): SandboxState {
  const dir = join(work, `sandbox-${env}-${sandboxes.length}`);
  sandboxes.push(dir);
  // Stopped when its test ends (pass or fail): production's ten API servers must not idle on
  // through the next test; afterAll only catches what a crash left.
  onTestFinished(async () => {
    if (readState(dir)) await stopSandbox(dir);
  }, 120_000);
  const started = Date.now();
  const r = topoforge(
    repo,
    'sandbox',
    'up',
    '--env',
    env,
    '--environments',
    environments,
    '--dir',
    dir,
    '--crds',
    join(shared!, 'crds'),
    '--crds',
    join(repo, 'test', 'crds'),
  );
  expect(r.code, r.err + r.out).toBe(0);
  timings.push(
    `${env}: sandbox up (${r.out.split('\n').filter((l) => l.includes(' pid ')).length - 1} API servers): ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
  return readState(dir)!;
}

const contextsOf = (environments: string, env: string): Map<string, string> => {
  const r = loadEnvironment(join(environments, `${env}.yaml`));
  if (!r.ok) throw new Error(`cannot load ${env}`);
  return new Map(r.value.dataCenters.map((d) => [d.name, d.cluster.context]));
};

/** Every rendered object is in its own DC's API server and in no other. */
function expectExactlyRendered(state: SandboxState, objects: readonly RenderedObject[], contexts: ReadonlyMap<string, string>): void {
  const types = [...new Map(objects.map((o) => [`${o.apiVersion}/${o.kind}`, { apiVersion: o.apiVersion, kind: o.kind }])).values()];
  for (const [dc, context] of contexts) {
    const live = labelledObjects(state, context, types);
    const want = objects
      .filter((o) => o.dc === dc)
      .map(idOf)
      .sort();
    expect(live.map((l) => l.id).sort(), `objects in ${context}`).toEqual(want);
    for (const l of live) expect(l.dc, `${l.id} in ${context}`).toBe(dc);
  }
}

describe.runIf(shared && clusterTools)('the render on real API servers', () => {
  beforeAll(() => {
    for (const t of ['kube-apiserver', 'kube-controller-manager', 'kubectl', 'etcd'] as const) requireTool(t);
  });

  it('needs no namespace beyond those it emits and the documented prerequisites', () => {
    const ws = workspace('prereq');
    ws.render();
    for (const env of ['staging', 'production']) {
      const objects = renderedObjects(join(ws.out, env));
      for (const dc of new Set(objects.map((o) => o.dc))) {
        const mine = objects.filter((o) => o.dc === dc);
        const emitted = new Set(mine.filter((o) => o.kind === 'Namespace').map((o) => o.name));
        const used = new Set(mine.flatMap((o) => (o.namespace ? [o.namespace] : [])));
        const missing = [...used].filter((n) => !emitted.has(n) && !PREREQUISITE_NAMESPACES.includes(n));
        expect(missing, `${env}/${dc}`).toEqual([]);
      }
    }
  });

  for (const env of ['staging', 'production']) {
    it(
      `${env}: kubectl apply --server-side --validate=strict of each DC directory, Namespaces first, is accepted`,
      () => {
        const ws = workspace(`kubectl-${env}`);
        ws.render();
        const state = sandboxUp(env, join(ws.root, 'environments'));
        const envDir = join(ws.out, env);
        const objects = renderedObjects(envDir);
        const contexts = contextsOf(join(ws.root, 'environments'), env);
        const started = Date.now();
        for (const [dc, context] of contexts) {
          const k = (args: string[]) => run(requireTool('kubectl'), ['--kubeconfig', state.kubeconfig, '--context', context, ...args], { cwd: envDir });
          const apply = ['apply', '--server-side', '--validate=strict', '--field-manager=topoforge-gitops'];
          // 1. the DC's Namespaces (and cluster-wide scheduling classes), 2. the whole DC directory
          const first = [...new Set(objects.filter((o) => o.dc === dc && (o.kind === 'Namespace' || o.kind === 'PriorityClass')).map((o) => o.file))];
          const a = k([...apply, ...first.flatMap((f) => ['-f', f])]);
          expect(a.code, `${context}: ${a.err}`).toBe(0);
          const b = k([...apply, '-R', '-f', `clusters/${dc}`]);
          expect(b.code, `${context}: ${b.err}`).toBe(0);
          expect(b.err).not.toMatch(/warning|error/i);
        }
        timings.push(
          `${env}: kubectl apply --server-side of ${contexts.size} DC directories (${objects.length} objects): ${((Date.now() - started) / 1000).toFixed(0)} s`,
        );
        expectExactlyRendered(state, objects, contexts);
      },
      30 * 60_000,
    );
  }
});

/** Minutes until TOPOFORGE_CI_ENDS_AT (unix seconds, set by .ci/run); Infinity outside CI. */
function ciMinutesLeft(): number {
  const end = Number(process.env.TOPOFORGE_CI_ENDS_AT);
  return Number.isFinite(end) && end > 0 ? (end * 1000 - Date.now()) / 60_000 : Infinity;
}

/** Waits (up to 3 min) until no topoforge-labelled object of these types is left; returns what is left. */
function waitUntilEmpty(state: SandboxState, contexts: readonly string[], types: readonly { apiVersion: string; kind: string }[]): string[] {
  const deadline = Date.now() + 180_000;
  let left: string[] = [];
  do {
    left = contexts.flatMap((c) => labelledObjects(state, c, types).map((l) => `${c}: ${l.id}`));
    if (left.length === 0) break;
    run('sleep', ['2'], { cwd: work });
  } while (Date.now() < deadline);
  return left;
}

describe.runIf(shared && pulumiTools)('the emitted Pulumi program on the real engine', () => {
  let pulumiEnv: NodeJS.ProcessEnv;
  let nodeModules: string | undefined;
  beforeAll(() => {
    for (const t of ['pulumi', 'pulumi-language-nodejs', 'pulumi-resource-kubernetes', 'kube-apiserver', 'kubectl'] as const) requireTool(t);
  });

  const pulumiIn = (cwd: string, args: string[]) =>
    run(requireTool('pulumi'), [...args, '--non-interactive', '--color=never'], { cwd, env: pulumiEnv, timeoutMs: 60 * 60_000 });

  // Minutes each scenario needs at most, with a margin over what it took (docs/benchmarks.md):
  // production 4–7 min on an idle 2-core machine (sandbox up included), 17 min on a loaded one.
  // A budget far above that only kept it from running on a cold CI run, where the tool build takes
  // ~35 of the 90 minutes (at 45: "needs up to 45 min and CI has 30 min left").
  for (const [env, removed, minutes] of [
    ['staging', 'stg02', 12],
    ['production', 'dc10', 20],
  ] as const) {
    it(
      `${env}: pulumi up creates every object in its own DC only, preview shows no change, a version bump and a removed DC preview exactly as expected, destroy leaves nothing`,
      (ctx) => {
        // CI (.ci/run) says when its 90 minutes end: a scenario that cannot finish before then says
        // so and does not start, rather than failing the whole run on the time limit.
        const left = ciMinutesLeft();
        if (left < minutes) {
          console.warn(
            `sandbox.test.ts: ${env} Pulumi scenario not run: it needs up to ${minutes} min and CI has ${left.toFixed(0)} min left (TOPOFORGE_CI_ENDS_AT)`,
          );
          ctx.skip();
        }
        const ws = workspace(`pulumi-${env}`);
        ws.render();
        const state = sandboxUp(env, join(ws.root, 'environments'));
        const project = join(ws.out, env, 'pulumi');
        const home = join(ws.root, 'pulumi-home');
        mkdirSync(join(ws.root, 'state'), { recursive: true });
        pulumiEnv = {
          ...process.env,
          PATH: `${state.binDir}:${process.env.PATH}`,
          KUBECONFIG: state.kubeconfig,
          PULUMI_HOME: home,
          PULUMI_BACKEND_URL: `file://${join(ws.root, 'state')}`,
          PULUMI_CONFIG_PASSPHRASE: 'sandbox-only-passphrase',
          PULUMI_SKIP_UPDATE_CHECK: '1',
          PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: 'true',
          TOPOFORGE_SKIP_AWAIT: 'true', // what `topoforge sandbox env` exports
          // The file backend rewrites the whole checkpoint after every step: with production's
          // ~1,350 resources that is quadratic, and a destroy spent minutes of CPU serializing JSON.
          // Saving only the final state is fine for a throwaway sandbox stack (pulumi #10668).
          PULUMI_EXPERIMENTAL: 'true',
          PULUMI_SKIP_CHECKPOINTS: 'true',
        };
        // The README's steps: npm ci in the emitted project (its own lockfile, outside the workspace).
        if (nodeModules) cpSync(nodeModules, join(project, 'node_modules'), { recursive: true, verbatimSymlinks: true });
        else {
          const ci = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: project });
          expect(ci.code, ci.err).toBe(0);
          timings.push(`npm ci in the emitted project: ${(ci.ms / 1000).toFixed(0)} s`);
          nodeModules = join(project, 'node_modules');
        }
        // check is clean with node_modules installed
        expect(topoforge(repo, 'check', '--environments', join(ws.root, 'environments'), '--out', ws.out, '--env', env).code).toBe(0);

        expect(pulumiIn(project, ['stack', 'init', env]).code).toBe(0);
        const up = pulumiIn(project, ['up', '--yes', '--skip-preview', '--stack', env]);
        expect(up.code, up.out.slice(-4000) + up.err.slice(-4000)).toBe(0);
        timings.push(`${env}: pulumi up (${state.clusters.length} DCs, first apply): ${(up.ms / 1000).toFixed(0)} s`);

        const contexts = contextsOf(join(ws.root, 'environments'), env);
        const objects = renderedObjects(join(ws.out, env));
        expectExactlyRendered(state, objects, contexts);

        const same = pulumiIn(project, ['preview', '--expect-no-changes', '--stack', env]);
        expect(same.code, same.out.slice(-4000) + same.err.slice(-2000)).toBe(0);
        timings.push(`${env}: pulumi preview, no change: ${(same.ms / 1000).toFixed(0)} s`);

        // One service's version bump: the preview updates exactly the objects of the files that changed.
        const before = new Map(objects.map((o) => [`${o.dc}|${idOf(o)}`, readFileSync(join(ws.out, env, o.file), 'utf8')]));
        ws.edit('base.yaml', (doc) => doc.setIn(['services', 'online-store', 'version'], '7.4.3'));
        // Production runs only what staging verified (testStand): recorded as the staging pipeline would.
        const verified = topoforge(
          repo,
          'verify',
          '--env',
          'staging',
          '--service',
          'online-store',
          '--version',
          '7.4.3',
          '--environments',
          join(ws.root, 'environments'),
        );
        expect(verified.code, verified.err).toBe(0);
        ws.render();
        const after = renderedObjects(join(ws.out, env));
        const changed = after.filter((o) => before.get(`${o.dc}|${idOf(o)}`) !== readFileSync(join(ws.out, env, o.file), 'utf8'));
        expect(changed.length).toBeGreaterThan(0);
        expect(existsSync(join(project, 'node_modules', '@pulumi', 'pulumi')), 'render keeps node_modules').toBe(true);
        const bump = pulumiIn(project, ['preview', '--json', '--stack', env]);
        expect(bump.code, bump.err.slice(-2000)).toBe(0);
        timings.push(`${env}: pulumi preview after a one-service version bump: ${(bump.ms / 1000).toFixed(0)} s`);
        const steps = (JSON.parse(bump.out) as { steps: { op: string; urn: string }[] }).steps.filter((s) => s.op !== 'same');
        const wantUpdated = changed.map((o) => `::${o.dc}:${o.namespace ? `${o.namespace}/` : ''}${o.name}`).sort();
        expect(
          steps.every((s) => s.op === 'update'),
          JSON.stringify(steps),
        ).toBe(true);
        expect(steps.map((s) => s.urn.slice(s.urn.lastIndexOf('::'))).sort()).toEqual(wantUpdated);
        const bumpUp = pulumiIn(project, ['up', '--yes', '--skip-preview', '--stack', env]);
        expect(bumpUp.code, bumpUp.out.slice(-4000)).toBe(0);
        timings.push(`${env}: pulumi up of the version bump: ${(bumpUp.ms / 1000).toFixed(0)} s`);
        expect(pulumiIn(project, ['preview', '--expect-no-changes', '--stack', env]).code).toBe(0);

        // A DC removed: everything of that DC (its provider, its groups, its objects) is deleted;
        // in the surviving DCs, what the render no longer has (the removed DC's backup location,
        // Schedules that stored there) is deleted, what it newly has is created, and exactly the
        // objects whose rendered file changed (the orchestrator's cluster list, the rotation) are
        // updated in place. Nothing is replaced.
        const key = (o: RenderedObject) => `${o.dc}|${idOf(o)}`;
        const beforeCut = new Map(after.map((o) => [key(o), readFileSync(join(ws.out, env, o.file), 'utf8')]));
        ws.edit(`${env}.yaml`, (doc) => doc.deleteIn(['dataCenters', removed]));
        ws.render();
        const survivors = renderedObjects(join(ws.out, env));
        const survivorKeys = new Set(survivors.map(key));
        const vanished = after.filter((o) => !survivorKeys.has(key(o)));
        const added = survivors.filter((o) => !beforeCut.has(key(o)));
        const touched = survivors.filter((o) => beforeCut.has(key(o)) && beforeCut.get(key(o)) !== readFileSync(join(ws.out, env, o.file), 'utf8'));
        const removedObjects = after.filter((o) => o.dc === removed);
        expect(vanished.filter((o) => o.dc === removed).length).toBe(removedObjects.length);
        const cut = pulumiIn(project, ['preview', '--json', '--stack', env]);
        expect(cut.code, cut.err.slice(-2000)).toBe(0);
        const cutSteps = (JSON.parse(cut.out) as { steps: { op: string; urn: string }[] }).steps.filter((s) => s.op !== 'same');
        const tail = (s: { urn: string }) => s.urn.slice(s.urn.lastIndexOf('::'));
        const urnOf = (o: RenderedObject) => `::${o.dc}:${o.namespace ? `${o.namespace}/` : ''}${o.name}`;
        expect(cutSteps.filter((s) => !['delete', 'update', 'create'].includes(s.op)).map((s) => `${s.op} ${s.urn}`)).toEqual([]);
        const objectSteps = (op: string) =>
          cutSteps
            .filter((s) => s.op === op && !/yaml\/v2:ConfigGroup::|providers:kubernetes::/.test(s.urn))
            .map(tail)
            .sort();
        const deletedObjects = objectSteps('delete');
        expect(deletedObjects).toEqual(vanished.map(urnOf).sort());
        expect(objectSteps('create')).toEqual(added.map(urnOf).sort());
        expect(objectSteps('update')).toEqual(touched.map(urnOf).sort());
        expect(cutSteps.some((s) => s.op === 'delete' && s.urn.endsWith(`pulumi:providers:kubernetes::${removed}`))).toBe(true);
        timings.push(
          `${env}: pulumi preview after removing ${removed}: ${deletedObjects.length} deletes (${vanished.length - removedObjects.length} in surviving DCs), ${added.length} creates, ${touched.length} updates, ${(cut.ms / 1000).toFixed(0)} s`,
        );
        const cutUp = pulumiIn(project, ['up', '--yes', '--skip-preview', '--stack', env]);
        expect(cutUp.code, cutUp.out.slice(-4000)).toBe(0);
        const remaining = new Map([...contexts].filter(([dc]) => dc !== removed));
        expectExactlyRendered(state, survivors, remaining);
        const types = [...new Map(after.map((o) => [`${o.apiVersion}/${o.kind}`, { apiVersion: o.apiVersion, kind: o.kind }])).values()];
        expect(waitUntilEmpty(state, [contexts.get(removed)!], types), `${removed} after its removal`).toEqual([]);

        const destroy = pulumiIn(project, ['destroy', '--yes', '--skip-preview', '--stack', env]);
        expect(destroy.code, destroy.out.slice(-4000)).toBe(0);
        timings.push(`${env}: pulumi destroy: ${(destroy.ms / 1000).toFixed(0)} s`);
        // Namespaces finish terminating through the sandbox's namespace controller.
        expect(waitUntilEmpty(state, [...contexts.values()], types)).toEqual([]);
      },
      90 * 60_000,
    );
  }
});
