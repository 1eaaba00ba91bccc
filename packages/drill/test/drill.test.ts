import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePromtoolOutput, parseScenario, runDrill, SCENARIOS_DIR, which, type DrillResult } from '../src/index.js';

const environmentsDir = fileURLToPath(new URL('../../../environments', import.meta.url));
const tools = which(['promtool']) && which(['alertmanager', 'prometheus-alertmanager']);
if (!tools) console.warn('promtool or alertmanager missing: run `pnpm run setup:tools` (Debian prometheus, prometheus-alertmanager); drill scenarios skipped');

describe('scenario files', () => {
  it('a bad scenario is a coded error with file, line and field', () => {
    expect(() => parseScenario('name: x\nstart: "25:00"\nduration: 10m\n', 'bad.yaml')).toThrow(/bad\.yaml:2:8: field start must match pattern/);
    expect(() => parseScenario('name: x\nstart: "10:00"\nduration: 10m\nevents:\n  - { at: 5m, type: explode }\n', 'bad.yaml')).toThrow(
      /DRILL_SCENARIO_INVALID|bad\.yaml:5/,
    );
    expect(() => parseScenario('name: [', 'broken.yaml')).toThrow(/broken\.yaml:1:/);
  });
  it('every shipped scenario parses', () => {
    const files = readdirSync(SCENARIOS_DIR).filter((f) => f.endsWith('.yaml'));
    expect(files.sort()).toEqual([
      'canary-split.yaml',
      'clock-change.yaml',
      'holiday-dip.yaml',
      'one-dc-loses-traffic.yaml',
      'recovery-and-failback.yaml',
      'two-dcs-lost.yaml',
    ]);
  });
  it("reads firing alerts from promtool's report", () => {
    const out = `  FAILED:
    name: ,
    alertname: TrafficDrop, time: 7d10h12m, 
        exp:[], 
        got:[
            0:
              Labels:{action="failover", alertname="TrafficDrop", dc="stg01", service="a\\"b"}
              Annotations:{summary="x"}
            ]
`;
    expect([...parsePromtoolOutput(out)]).toEqual([
      [7 * 1440 + 612, [{ labels: { action: 'failover', alertname: 'TrafficDrop', dc: 'stg01', service: 'a"b' }, annotations: { summary: 'x' } }]],
    ]);
  });
});

const drainsOf = (r: DrillResult) => r.events.filter((e) => e.type === 'decision' && e.action === 'drain');

// Each scenario runs the real chain: promtool over a simulated week per service, a real
// Alertmanager on 127.0.0.1 and the orchestrator process (dry run). Minutes per scenario.
describe.runIf(tools)('shipped scenarios through promtool, Alertmanager and the orchestrator', () => {
  const run = (file: string, env: string) => runDrill({ environmentsDir, env, scenarioFile: join(SCENARIOS_DIR, file) });

  it('one DC loses its traffic: drained for every service within 15 minutes of the loss, social network first, the other DC keeps serving', async () => {
    const r = await run('one-dc-loses-traffic.yaml', 'staging');
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    const drains = drainsOf(r);
    expect(drains.map((d) => (d.type === 'decision' ? d.service : ''))).toEqual([
      'social-network',
      'telemetry',
      'online-store',
      'social-web',
      'storefront-web',
    ]);
    expect(Math.max(...drains.map((d) => d.minute))).toBeLessThanOrEqual(5 + 15);
    expect(r.finalWeights['social-network']).toEqual({ stg01: 0, stg02: 10 });
  }, 3_600_000);

  for (const [file, title] of [
    ['holiday-dip.yaml', 'a global holiday dip'],
    ['clock-change.yaml', 'the week after a clock change'],
    ['canary-split.yaml', 'a canary split at 50 %'],
  ] as const) {
    it(`${title}: no alert reaches the orchestrator, no action`, async () => {
      const r = await run(file, 'staging');
      expect(r.checks.filter((c) => !c.ok)).toEqual([]);
      expect(r.events.filter((e) => e.type === 'firing' && e.alertname !== 'TrafficMetricMissing')).toEqual([]);
      expect(Object.values(r.finalWeights).every((w) => Object.values(w).every((x) => x === 10))).toBe(true);
    }, 3_600_000);
  }

  it('recovery and failback: drained, then restored once probes passed for the failback time', async () => {
    const r = await run('recovery-and-failback.yaml', 'staging');
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    const restores = r.events.filter((e) => e.type === 'decision' && e.action === 'restore');
    expect(restores).toHaveLength(5);
    expect(Math.min(...restores.map((e) => e.minute))).toBeGreaterThanOrEqual(25 + 10); // probes back at +25, TrafficFailbackReady for: 10m
    expect(Object.values(r.finalWeights).every((w) => w.stg01 === 10)).toBe(true);
  }, 3_600_000);

  it('two DCs lost at once (production): both drained for every service, social network first, never the others', async () => {
    const r = await run('two-dcs-lost.yaml', 'production');
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.finalWeights['social-network']!.dc01).toBe(0);
    expect(r.finalWeights['social-network']!.dc03).toBe(0);
    expect(r.finalWeights['social-network']!.dc02).toBe(10);
    const first = drainsOf(r)[0]!;
    expect(first.type === 'decision' && first.service).toBe('social-network');
  }, 3_600_000);
});
