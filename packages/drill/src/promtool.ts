/**
 * Rule evaluation by the real promtool. `promtool test rules` runs Prometheus' own rule
 * engine (recording rules, `for:` state, label templating) over input series; asking it to
 * expect *no* alert at every minute of the live part makes it print, for every minute with
 * firing alerts, exactly which alerts fired. That output is the alert timeline.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ruleTestFile, type AlertRuleTest, type InputSeries } from '@topoforge/plugin-sdk';

export interface FiringAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** `7d8h11m` → minutes. */
export function promDurationMinutes(s: string): number {
  let total = 0;
  for (const m of s.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) total += Number(m[1]) * { ms: 0, s: 1 / 60, m: 1, h: 60, d: 1440, w: 10080, y: 525600 }[m[2] as 'm'];
  return Math.round(total);
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = JSON.parse(`"${m[2]!}"`) as string;
  return out;
}

/** Firing alerts per minute from promtool's failure report. */
export function parsePromtoolOutput(out: string): Map<number, FiringAlert[]> {
  const byMinute = new Map<number, FiringAlert[]>();
  let minute: number | undefined;
  let pendingLabels: Record<string, string> | undefined;
  for (const line of out.split('\n')) {
    const head = /alertname: ([A-Za-z0-9_]+), time: ([0-9a-z]+),/.exec(line);
    if (head) {
      minute = promDurationMinutes(head[2]!);
      if (!byMinute.has(minute)) byMinute.set(minute, []);
      continue;
    }
    const l = /^\s*Labels:\{(.*)\}\s*$/.exec(line);
    if (l && minute !== undefined) {
      pendingLabels = parseLabels(l[1]!);
      continue;
    }
    const a = /^\s*Annotations:\{(.*)\}\s*$/.exec(line);
    if (a && minute !== undefined && pendingLabels) {
      byMinute.get(minute)!.push({ labels: pendingLabels, annotations: parseLabels(a[1]!) });
      pendingLabels = undefined;
    }
  }
  return byMinute;
}

export interface EvalInput {
  readonly dir: string;
  readonly groups: readonly unknown[];
  readonly series: readonly InputSeries[];
  readonly alertnames: readonly string[];
  /** Minutes at which to read the firing alerts. */
  readonly from: number;
  readonly to: number;
}

/** Runs promtool; resolves with the firing alerts per minute in [from, to]. */
export async function evaluate(input: EvalInput): Promise<Map<number, FiringAlert[]>> {
  writeFileSync(join(input.dir, 'drill.rules.yaml'), stringify({ groups: input.groups }));
  const checks: AlertRuleTest[] = [];
  for (let m = input.from; m <= input.to; m++) for (const alertname of input.alertnames) checks.push({ eval_time: `${m}m`, alertname, exp_alerts: [] });
  writeFileSync(
    join(input.dir, 'drill.test.yaml'),
    stringify(ruleTestFile('drill.rules.yaml', '1m', [{ interval: '1m', input_series: input.series, alert_rule_test: checks }]), { lineWidth: 0 }),
  );
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn('promtool', ['test', 'rules', 'drill.test.yaml'], { cwd: input.dir });
    let o = '';
    c.stdout.on('data', (d: Buffer) => (o += d.toString()));
    c.stderr.on('data', (d: Buffer) => (o += d.toString()));
    c.on('error', (e) => resolve({ code: -1, out: e.message }));
    c.on('close', (code) => resolve({ code, out: o }));
  });
  if (code !== 0 && !/FAILED:/.test(out)) throw new Error(`promtool failed: ${out.slice(0, 2000)}`);
  return parsePromtoolOutput(out);
}
