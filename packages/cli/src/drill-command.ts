/**
 * `topoforge drill failover --env NAME --scenario FILE [--sandbox DIR] [--json]`: plays a
 * traffic scenario through promtool, a real Alertmanager and the real orchestrator (see
 * packages/drill). Exit 0 when every check of the scenario holds, 1 when one fails, 2 on bad
 * input or a missing tool.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type * as DrillModule from '@topoforge/drill';

// Loaded when a drill runs: render and check never pay for it.
const load = (): Promise<typeof DrillModule> => import('@topoforge/drill');
import { EXIT, type Io } from './io.js';

export function registerDrill(program: Command, io: Io, setExit: (code: number) => void): void {
  const drill = program.command('drill').description('failover drills on this machine');
  drill
    .command('failover')
    .description('play a traffic scenario through the emitted rules (promtool), a real Alertmanager and the failover orchestrator')
    .requiredOption('--env <name>', 'environment')
    .requiredOption('--scenario <file>', 'scenario file (format: packages/drill/README.md)')
    .option('--sandbox <dir>', 'a running sandbox (topoforge sandbox up): the orchestrator patches the Gslbs of its clusters; dry run otherwise')
    .option('--json', 'print events, final weights and checks as JSON')
    .option('--environments <dir>', 'directory of environment files', 'environments')
    .action(async (o: { env: string; scenario: string; sandbox?: string; json?: boolean; environments: string }) => {
      const { DrillError, formatTimeline, runDrill, ScenarioError } = await load();
      let kubeconfig: string | undefined;
      if (o.sandbox) {
        kubeconfig = join(resolve(io.cwd, o.sandbox), 'kubeconfig');
        if (!existsSync(kubeconfig)) {
          io.err(`error DRILL_SANDBOX_MISSING: no kubeconfig in ${o.sandbox} (start one with \`topoforge sandbox up\`)\n`);
          return setExit(EXIT.error);
        }
      }
      try {
        const r = await runDrill({
          environmentsDir: resolve(io.cwd, o.environments),
          env: o.env,
          scenarioFile: resolve(io.cwd, o.scenario),
          ...(kubeconfig ? { kubeconfig } : {}),
          log: (l) => io.err(`${l}\n`),
        });
        io.out(o.json ? `${JSON.stringify(r, null, 2)}\n` : formatTimeline(r));
        setExit(r.checks.every((c) => c.ok) ? EXIT.ok : EXIT.changes);
      } catch (err) {
        if (err instanceof ScenarioError) io.err(`error ${err.code}: ${err.message}\n`);
        else if (err instanceof DrillError) io.err(`error ${err.message}\n`);
        else io.err(`error DRILL_FAILED: ${(err as Error).message}\n`);
        setExit(EXIT.error);
      }
    });
}
