/**
 * The port against real robfig/cron v3.0.1: reference/robfig-v3.0.1.json was recorded by
 * reference/robfig-next (Go, real ParseStandard + Next) for the cases of reference/cases.mjs
 * (fields, names, the star-bit rule, descriptors, @every, CRON_TZ, DST gaps and repeats,
 * midnight transitions, month ends, February 29, invalid specs). When Go and the robfig
 * source are installed, the recording is also redone live, so it cannot go stale.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { next, parse } from '../src/index.js';

interface Case {
  spec: string;
  from: string;
  count: number;
}
interface Recorded {
  spec: string;
  from: string;
  error?: boolean;
  next?: string[];
}

const dir = fileURLToPath(new URL('../reference/', import.meta.url));
const cases = JSON.parse(readFileSync(`${dir}cases.json`, 'utf8')) as Case[];
const recorded = JSON.parse(readFileSync(`${dir}robfig-v3.0.1.json`, 'utf8')) as Recorded[];

/** What the port says for the same cases, in the recording's shape. */
function port(c: Case): Recorded {
  let s;
  try {
    s = parse(c.spec);
  } catch {
    return { spec: c.spec, from: c.from, error: true };
  }
  const out: string[] = [];
  let t: number | undefined = Date.parse(c.from);
  for (let i = 0; i < c.count; i++) {
    t = next(s, t!);
    if (t === undefined) {
      out.push('zero');
      break;
    }
    out.push(new Date(t).toISOString().replace('.000Z', 'Z'));
  }
  return { spec: c.spec, from: c.from, next: out };
}

describe('the port matches real robfig/cron v3.0.1', () => {
  it('cases.json is what cases.mjs generates', () => {
    const generated = execFileSync(process.execPath, [`${dir}cases.mjs`], { encoding: 'utf8' });
    expect(JSON.parse(generated)).toEqual(cases);
  });

  it('for every recorded case: parse errors and the next 8 activations', () => {
    expect(recorded).toHaveLength(cases.length);
    expect(cases.length).toBeGreaterThan(400);
    const mismatches = cases.map(port).filter((got, i) => JSON.stringify(got) !== JSON.stringify(recorded[i]));
    expect(mismatches.map((m, i) => ({ got: m, want: recorded.find((r) => r.spec === m.spec && r.from === m.from), i })).slice(0, 3)).toEqual([]);
  });

  // Includes the DST cases that matter: robfig fires twice in a repeated hour and skips a gap.
  it('records DST behaviour worth knowing', () => {
    const berlin = recorded.find((r) => r.spec === 'CRON_TZ=Europe/Berlin 30 2 * * *' && r.from === '2027-10-29T00:00:00Z')!;
    expect(berlin.next!.slice(0, 4)).toEqual(['2027-10-29T00:30:00Z', '2027-10-30T00:30:00Z', '2027-10-31T00:30:00Z', '2027-10-31T01:30:00Z']);
    const spring = recorded.find((r) => r.spec === 'CRON_TZ=Europe/Berlin 30 2 * * *' && r.from === '2027-03-26T00:00:00Z')!;
    expect(spring.next!.slice(0, 3)).toEqual(['2027-03-26T01:30:00Z', '2027-03-27T01:30:00Z', '2027-03-29T00:30:00Z']);
  });
});

const go = spawnSync('go', ['version'], { encoding: 'utf8' });
const robfigSource = existsSync('/usr/share/gocode/src/github.com/robfig/cron/spec.go');
const live = go.status === 0 && robfigSource;
if (!live) console.warn('ROBFIG_LIVE_SKIPPED: go or golang-github-robfig-cron-dev not installed; compared with the recording only');
describe.runIf(live)('the recording is current (live run of real robfig)', () => {
  it('re-running reference/robfig-next gives the recorded results', () => {
    const out = execFileSync('go', ['run', './robfig-next'], {
      cwd: dir,
      input: readFileSync(`${dir}cases.json`),
      env: { ...process.env, TZ: 'UTC', GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '', GOCACHE: process.env.GOCACHE ?? '/tmp/robfig-gocache' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(JSON.parse(out)).toEqual(recorded);
  });
});
