/**
 * `topoforge sandbox up|down|env`: throwaway local clusters, one real kube-apiserver per DC of an
 * environment, to try an environment before touching real DCs. Thin wrapper over @topoforge/sandbox.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type * as SandboxModule from '@topoforge/sandbox';
import { reportDiagnostics } from './commands.js';
import { EXIT, type Io } from './io.js';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

// Loaded when a sandbox command runs: render and check never pay for it.
const load = (): Promise<typeof SandboxModule> => import('@topoforge/sandbox');

async function reportError(io: Io, e: unknown): Promise<number> {
  if (e instanceof (await load()).SandboxError) {
    io.err(`error [${e.code}] ${e.message}\n`);
    if (e.hint) io.err(`  hint: ${e.hint}\n`);
    return EXIT.error;
  }
  throw e;
}

export function registerSandbox(program: Command, io: Io, setExit: (code: number) => void): void {
  const sandbox = program.command('sandbox').description('local throwaway clusters, one real kube-apiserver per DC, on 127.0.0.1');

  sandbox
    .command('up')
    .description('start one kube-apiserver per DC of an environment; kubeconfig contexts named as the DCs’ cluster.context')
    .option('--env <name>', 'environment whose DCs to start', 'staging')
    .option('--environments <dir>', 'directory of environment files', 'environments')
    .option('--dir <dir>', 'state directory (kubeconfig, certificates, logs, PIDs)', '.sandbox')
    .option('--crds <dir>', 'install the CustomResourceDefinitions found here (repeatable; e.g. `kubectl get crd -o yaml` output)', collect)
    .action(async (o: { env: string; environments: string; dir: string; crds?: string[] }) => {
      const file = join(resolve(io.cwd, o.environments), `${o.env}.yaml`);
      const { clustersOfEnvironment, startSandbox } = await load();
      const clusters = clustersOfEnvironment(file, io.cwd);
      if (!clusters.ok) {
        setExit(reportDiagnostics(io, clusters.diagnostics));
        return;
      }
      try {
        const dir = resolve(io.cwd, o.dir);
        const state = await startSandbox({
          dir,
          clusters: clusters.value,
          crdDirs: (o.crds ?? []).map((c) => resolve(io.cwd, c)),
          log: (l) => io.out(`${l}\n`),
        });
        io.out(`sandbox for ${o.env}: ${state.clusters.length} clusters; kubeconfig ${state.kubeconfig}\n`);
        io.out(`  eval "$(topoforge sandbox env --dir ${o.dir})"; export PATH="$(topoforge sandbox env --dir ${o.dir} --path):$PATH"\n`);
        io.out(`  stop with: topoforge sandbox down --dir ${o.dir}\n`);
        setExit(EXIT.ok);
      } catch (e) {
        setExit(await reportError(io, e));
      }
    });

  sandbox
    .command('down')
    .description('stop exactly what `sandbox up` started in DIR (by PID) and remove its state')
    .option('--dir <dir>', 'state directory', '.sandbox')
    .action(async (o: { dir: string }) => {
      try {
        const r = await (await load()).stopSandbox(resolve(io.cwd, o.dir));
        io.out(`stopped ${r.stopped.length} processes (${r.stopped.join(', ')}); removed ${o.dir}\n`);
        setExit(EXIT.ok);
      } catch (e) {
        setExit(await reportError(io, e));
      }
    });

  sandbox
    .command('env')
    .description('print `export KUBECONFIG=…` for the sandbox in DIR; with --path, only the directory of the built binaries (for PATH)')
    .option('--dir <dir>', 'state directory', '.sandbox')
    .option('--path', 'print only the directory holding pulumi, its plugins, kubectl and the servers')
    .action(async (o: { dir: string; path?: boolean }) => {
      const { envExports, readState, toolsPathDir } = await load();
      try {
        const dir = resolve(io.cwd, o.dir);
        if (o.path) io.out(`${readState(dir)?.binDir ?? toolsPathDir()}\n`);
        else io.out(envExports(dir));
        setExit(EXIT.ok);
      } catch (e) {
        setExit(await reportError(io, e));
      }
    });
}
