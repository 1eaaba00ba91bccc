import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironments, untestedImages, unverifiedVersions, type Environment } from '../src/index.js';
import { DCS, REGIONS } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'topoforge-test-stand-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BASE = `kind: Base
${REGIONS}${DCS}
services:
  social: { kind: social-network, image: r/social, version: "1.0.0" }
  stock: { kind: warehouse, image: r/stock, version: "2.0.0" }
`;
const STAGING = 'kind: Environment\nname: staging\nstage: staging\nextends: base.yaml\n';
const production = (extra = '') => `kind: Environment\nname: production\nstage: production\nextends: base.yaml\ntestStand: staging\n${extra}`;
const LEDGER = 'verified:\n  social: ["1.0.0", "1.1.0"]\n  stock: ["2.0.0"]\nfailed:\n  social:\n    "1.2.0": "rolled back in n1"\n';

let n = 0;
/** Loads an environments directory made of `files` and returns what unverifiedVersions says of it. */
function refusals(files: Record<string, string>, only?: string): { all: Environment[]; text: string[] } {
  const dir = join(work, `envs-${n++}`);
  mkdirSync(join(dir, 'verified'), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const r = loadEnvironments(dir, { cwd: dir });
  if (!r.ok) throw new Error(r.diagnostics.map((d) => d.message).join('\n'));
  const targets = only ? r.value.filter((e) => e.name === only) : r.value;
  return {
    all: r.value,
    text: [...unverifiedVersions(r.value, targets), ...untestedImages(r.value, targets)].map(
      (d) => `${d.position ? `${d.position.file}:${d.position.line}` : '-'} ${d.code} ${d.field} | ${d.message} | ${d.hint ?? ''}`,
    ),
  };
}

describe('a production environment with a test stand runs only versions that passed it', () => {
  it('accepts versions the ledger verified', () => {
    expect(refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': production(), 'verified/staging.yaml': LEDGER }).text).toEqual([]);
    // An override promoted from staging, verified too.
    const promoted = production('services:\n  social: { version: "1.1.0" }\n');
    expect(refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': promoted, 'verified/staging.yaml': LEDGER }).text).toEqual([]);
  });

  it('refuses a bump in the shared base at the line that made it, and only in production', () => {
    const bumped = BASE.replace('version: "2.0.0"', 'version: "2.1.0"');
    const { all, text } = refusals({ 'base.yaml': bumped, 'staging.yaml': STAGING, 'production.yaml': production(), 'verified/staging.yaml': LEDGER });
    const line = bumped.split('\n').findIndex((l) => l.includes('2.1.0')) + 1;
    expect(text).toEqual([
      `base.yaml:${line} PROMOTE_NOT_VERIFIED services.stock.version | stock 2.1.0 never passed staging (verified/staging.yaml), so production may not run it | staging runs it too: once it passed there, \`topoforge verify --env staging --service stock --version 2.1.0\` records it`,
    ]);
    // Staging runs it (that is how it gets verified), and rendering staging alone is not refused.
    expect(all.find((e) => e.name === 'staging')!.services.find((s) => s.name === 'stock')!.version).toBe('2.1.0');
    expect(
      unverifiedVersions(
        all,
        all.filter((e) => e.name === 'staging'),
      ),
    ).toEqual([]);
  });

  it('refuses a version rolled back on the test stand, and any version when the stand has no ledger', () => {
    const failed = production('services:\n  social:\n    version: "1.2.0"\n');
    expect(refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': failed, 'verified/staging.yaml': LEDGER }).text).toEqual([
      'production.yaml:8 PROMOTE_VERSION_FAILED services.social.version | social 1.2.0 failed on staging: rolled back in n1 (verified/staging.yaml), so production may not run it | set a version that passed staging, or fix it and verify a new one there',
    ]);
    const none = refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': production() }).text;
    expect(none.map((t) => t.split(' | ')[0])).toEqual([
      expect.stringMatching(/^base\.yaml:\d+ PROMOTE_NOT_VERIFIED services\.social\.version$/),
      expect.stringMatching(/^base\.yaml:\d+ PROMOTE_NOT_VERIFIED services\.stock\.version$/),
    ]);
  });

  it('tells how to verify a version, and that a service the stand does not run must be added there first', () => {
    // A service only production runs: no version of it can pass staging (verify and promote refuse it) until staging runs it.
    const only = production('services:\n  extra: { kind: social-network, image: r/extra, version: "0.1.0" }\n');
    expect(refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': only, 'verified/staging.yaml': LEDGER }).text).toEqual([
      'production.yaml:7 PROMOTE_NOT_VERIFIED services.extra.version | extra 0.1.0 never passed staging (verified/staging.yaml), so production may not run it | staging does not run extra, so no version of it can pass there: add it to staging.yaml first; once extra 0.1.0 passed there, `topoforge verify --env staging --service extra --version 0.1.0` records it',
    ]);
    // A version production pins that staging does not run: staging first, then promote.
    const pinned = refusals({
      'base.yaml': BASE,
      'staging.yaml': STAGING,
      'production.yaml': production('services:\n  stock: { version: "2.2.0" }\n'),
      'verified/staging.yaml': LEDGER,
    }).text;
    expect(pinned.map((t) => t.split(' | ')[2])).toEqual([
      'set it in staging first; once it passed there, `topoforge verify --env staging --service stock --version 2.2.0` records it and `topoforge promote --from staging --to production --service stock` sets it here',
    ]);
    // The same once the stand removes a service production inherits.
    const removed = refusals({
      'base.yaml': BASE,
      'staging.yaml': `${STAGING}services:\n  stock: null\n`,
      'production.yaml': production(),
      'verified/staging.yaml': 'verified:\n  social: ["1.0.0"]\n',
    }).text;
    expect(removed.map((t) => t.split(' | ')[2])).toEqual([
      expect.stringMatching(/^staging does not run stock, so no version of it can pass there: add it to staging\.yaml first;/),
    ]);
  });

  it('refuses an image the stand neither runs nor ran a verified version of: the ledger records tags, and images apart', () => {
    // Production alone points the service at another repository: 2.0.0 is verified, but not from there.
    const moved = production('services:\n  stock:\n    image: r/unreviewed-stock\n');
    const refused =
      "production.yaml:8 PROMOTE_IMAGE_NOT_TESTED services.stock.image | stock's image r/unreviewed-stock is not one staging runs (r/stock) or ran a verified version of (verified/staging.yaml), so production may not run it | set it in staging.yaml first; once a version passed there, `topoforge verify` records the image and `topoforge promote --from staging --to production --service stock` carries it here";
    expect(refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': moved, 'verified/staging.yaml': LEDGER }).text).toEqual([refused]);
    const IMAGES = `${LEDGER}images:\n  stock: ["r/stock"]\n`;
    expect(refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': moved, 'verified/staging.yaml': IMAGES }).text).toEqual([refused]);
    // Staging moved first (not promoted yet): production stays on the image staging ran before, as it stays on a
    // verified version. Recorded, or (a ledger from before images were recorded) inherited from base.yaml.
    const stagingMoved = { 'base.yaml': BASE, 'staging.yaml': `${STAGING}services:\n  stock: { image: r/new-stock }\n`, 'production.yaml': production() };
    expect(refusals({ ...stagingMoved, 'verified/staging.yaml': IMAGES }).text).toEqual([]);
    expect(refusals({ ...stagingMoved, 'verified/staging.yaml': LEDGER }).text).toEqual([]);
    // Recorded images of the service are the whole list: the inherited one is refused when not among them.
    const line = BASE.split('\n').findIndex((l) => l.includes('image: r/stock')) + 1;
    expect(refusals({ ...stagingMoved, 'verified/staging.yaml': `${LEDGER}images:\n  stock: ["r/other"]\n` }).text).toEqual([
      `base.yaml:${line} PROMOTE_IMAGE_NOT_TESTED services.stock.image | stock's image r/stock is not one staging runs (r/new-stock) or ran a verified version of (verified/staging.yaml), so production may not run it | staging runs r/new-stock: once a version passed there, \`topoforge promote --from staging --to production --service stock\` carries it here`,
    ]);
    // Promoted after staging moved again: production's own file names an image staging ran, and staging runs a third.
    expect(
      refusals({
        'base.yaml': BASE,
        'staging.yaml': `${STAGING}services:\n  stock: { image: r/third-stock }\n`,
        'production.yaml': production('services:\n  stock: { image: r/new-stock }\n'),
        'verified/staging.yaml': `${LEDGER}images:\n  stock: ["r/stock", "r/new-stock"]\n`,
      }).text,
    ).toEqual([]);
    // The same image in both, whichever file sets it: nothing to say; a service staging does not run is the version check's.
    const same = production('services:\n  stock: { image: r/new-stock }\n');
    expect(
      refusals({
        'base.yaml': BASE,
        'staging.yaml': `${STAGING}services:\n  stock: { image: r/new-stock }\n`,
        'production.yaml': same,
        'verified/staging.yaml': LEDGER,
      }).text,
    ).toEqual([]);
    const only = production('services:\n  extra: { kind: social-network, image: r/extra, version: "0.1.0" }\n');
    expect(
      refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': only, 'verified/staging.yaml': LEDGER }).text.map((t) => t.split(' ')[1]),
    ).toEqual(['PROMOTE_NOT_VERIFIED']);
    // Staging alone is not checked (that is where the image gets tested).
    const { all } = refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': moved, 'verified/staging.yaml': LEDGER });
    expect(refusals({ 'base.yaml': BASE, 'staging.yaml': STAGING, 'production.yaml': moved, 'verified/staging.yaml': LEDGER }, 'staging').text).toEqual([]);
    expect(
      untestedImages(
        all,
        all.filter((e) => e.name === 'staging'),
      ),
    ).toEqual([]);
  });

  it('refuses a ledger that is there but cannot be read, instead of taking it for an empty one', () => {
    // Empty, it made every production version "never passed staging", which the file says it did.
    const load = (ledger: (path: string) => void) => {
      const dir = join(work, `unreadable-${n++}`);
      mkdirSync(join(dir, 'verified'), { recursive: true });
      writeFileSync(join(dir, 'base.yaml'), BASE);
      writeFileSync(join(dir, 'staging.yaml'), STAGING);
      writeFileSync(join(dir, 'production.yaml'), production());
      ledger(join(dir, 'verified/staging.yaml'));
      const r = loadEnvironments(dir, { cwd: dir });
      return r.ok ? [] : r.diagnostics.map((d) => `${d.position?.file}:${d.position?.line} ${d.code} ${d.message}`);
    };
    expect(load((p) => writeFileSync(p, `${LEDGER}# ${'x'.repeat(1024 * 1024)}\n`))).toEqual([
      expect.stringMatching(/^verified\/staging\.yaml:1 PROMOTE_LEDGER_INVALID cannot read verified\/staging\.yaml: too large \(\d+ bytes\)$/),
    ]);
    expect(load((p) => mkdirSync(p))).toEqual(['verified/staging.yaml:1 PROMOTE_LEDGER_INVALID cannot read verified/staging.yaml: a directory']);
  });

  it('names a test stand that is unknown or not a staging environment', () => {
    const typo = refusals({
      'base.yaml': BASE,
      'staging.yaml': STAGING,
      'production.yaml': production().replace('testStand: staging', 'testStand: stagin'),
    }).text;
    expect(typo).toEqual([
      `production.yaml:5 TOPOLOGY_UNKNOWN_REFERENCE testStand | production's testStand "stagin" is not an environment of this directory | did you mean "staging"?`,
    ]);
    const other = 'kind: Environment\nname: canary-prod\nstage: production\nextends: base.yaml\n';
    const notStaging = refusals({
      'base.yaml': BASE,
      'staging.yaml': STAGING,
      'canary-prod.yaml': other,
      'production.yaml': production().replace('testStand: staging', 'testStand: canary-prod'),
    }).text;
    expect(notStaging).toEqual([
      `production.yaml:5 TOPOLOGY_UNKNOWN_REFERENCE testStand | production's testStand "canary-prod" is a production environment, not a test stand | staging environments: staging`,
    ]);
  });

  it('checks nothing where no test stand is named, and refuses testStand on a staging environment', () => {
    const bumped = BASE.replace('version: "2.0.0"', 'version: "9.0.0"');
    const plain = production().replace('testStand: staging\n', '');
    expect(refusals({ 'base.yaml': bumped, 'staging.yaml': STAGING, 'production.yaml': plain }).text).toEqual([]);
    const dir = join(work, 'stand-on-staging');
    mkdirSync(dir);
    writeFileSync(join(dir, 'base.yaml'), BASE);
    writeFileSync(join(dir, 'staging.yaml'), `${STAGING}testStand: staging\n`);
    const r = loadEnvironments(dir, { cwd: dir });
    expect(r.ok).toBe(false);
    expect(r.ok ? [] : r.diagnostics.map((d) => [d.code, d.field, d.position?.file, d.position?.line])).toEqual([
      ['TOPOLOGY_INVALID_VALUE', 'testStand', 'staging.yaml', 5],
    ]);
  });
});
