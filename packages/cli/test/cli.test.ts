import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the real CLI from the repo root (where plugins resolve), like `pnpm exec topoforge`. */
function cli(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: repo, encoding: 'utf8' });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('topoforge CLI', () => {
  const envs = join(work, 'environments');
  const out = join(work, 'out');
  cpSync(join(repo, 'environments'), envs, { recursive: true });

  it('render writes every environment and prints a summary (exit 0)', () => {
    const r = cli('render', '--environments', envs, '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^production: \d+ files \(.*namespaces \d+.*\); \d+ added, 0 changed, 0 removed$/m);
    expect(r.out).toContain(`rendered 2 environments into ${out}/`);
    expect(existsSync(join(out, 'staging', 'topoforge-index.json'))).toBe(true);
  });

  it('check exits 0 when up to date and 1 listing each drifted file', () => {
    expect(cli('check', '--environments', envs, '--out', out)).toMatchObject({ code: 0, out: expect.stringContaining('is up to date') });
    writeFileSync(join(out, 'staging', 'stray.yaml'), 'x: 1\n');
    const r = cli('check', '--environments', envs, '--out', out);
    expect(r.code).toBe(1);
    expect(r.out).toContain('- staging/stray.yaml (no longer produced)');
    expect(r.out).toContain('run `topoforge render`');
    rmSync(join(out, 'staging', 'stray.yaml'));
  });

  it('--help and check of an unchanged tree load no plugin, parser, template engine or schema library; a check that finds drift renders', () => {
    // A loader hook (node --import) that lists every file module node loads.
    const hook = join(work, 'hook');
    writeFileSync(join(work, 'hook.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
    writeFileSync(
      join(work, 'hooks.mjs'),
      `import { appendFileSync } from 'node:fs';\nexport async function load(url, context, next) {\n  if (url.startsWith('file:')) appendFileSync(${JSON.stringify(hook)}, url + '\\n');\n  return next(url, context);\n}\n`,
    );
    const loaded = (...args: string[]): { code: number; files: string[] } => {
      rmSync(hook, { force: true });
      const r = spawnSync(process.execPath, ['--import', join(work, 'hook.mjs'), bin, ...args], { cwd: repo, encoding: 'utf8' });
      return { code: r.status ?? -1, files: readFileSync(hook, 'utf8').trim().split('\n') };
    };
    const heavy =
      /bundled-deps\/dist\/(yaml|handlebars|typebox)\.js|\/js-yaml\/|plugin-host\/dist\/(run|load|templates)\.js|model\/dist\/(load|schema)\.js|engine\/dist\/engine\.js|\/plugins\//;
    const help = loaded('--help');
    expect(help.code).toBe(0);
    expect(help.files.filter((f) => heavy.test(f))).toEqual([]);
    const quiet = loaded('check', '--environments', envs, '--out', out);
    expect(quiet.code).toBe(0);
    expect(quiet.files.some((f) => f.endsWith('packages/engine/dist/check.js'))).toBe(true);
    expect(quiet.files.filter((f) => heavy.test(f))).toEqual([]);
    writeFileSync(join(out, 'staging', 'stray.yaml'), 'x: 1\n');
    try {
      const drift = loaded('check', '--environments', envs, '--out', out);
      expect(drift.code).toBe(1);
      expect(drift.files.some((f) => f.endsWith('packages/plugin-host/dist/run.js'))).toBe(true);
    } finally {
      rmSync(join(out, 'staging', 'stray.yaml'));
    }
  });

  it('output into a pipe its reader closed (`check | head -1`): no EPIPE crash, the command ends with its own code', async () => {
    writeFileSync(join(out, 'staging', 'stray.yaml'), 'x: 1\n');
    try {
      const child = spawn(process.execPath, [bin, 'check', '--environments', envs, '--out', out], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
      // The reader is gone before the first line is written.
      child.stdout.destroy();
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
      expect(err).toBe('');
      expect(code).toBe(1);
    } finally {
      rmSync(join(out, 'staging', 'stray.yaml'));
    }
  });

  it('invalid input exits 2 with file:line:column, field and hint, and writes nothing', () => {
    const before = readFileSync(join(out, 'production', 'topoforge-index.json'), 'utf8');
    const prod = readFileSync(join(envs, 'production.yaml'), 'utf8');
    writeFileSync(join(envs, 'production.yaml'), prod.replace('timeZone: Asia/Tokyo', 'timezone: Asia/Tokyo'));
    const r = cli('render', '--environments', envs, '--out', out);
    writeFileSync(join(envs, 'production.yaml'), prod);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /production\.yaml:\d+:\d+: error TOPOLOGY_UNKNOWN_KEY: unknown key "timezone" \(field regions\.ap-east\.timezone\)\n {4}hint: did you mean "timeZone"\?/,
    );
    expect(r.err).toContain('nothing was written');
    expect(r.out).toBe('');
    expect(readFileSync(join(out, 'production', 'topoforge-index.json'), 'utf8')).toBe(before);
  });

  it('an extends that is not a file name exits 2 at its position and removes nothing (it was taken as "no base")', () => {
    const before = readFileSync(join(out, 'production', 'topoforge-index.json'), 'utf8');
    const prod = readFileSync(join(envs, 'production.yaml'), 'utf8');
    writeFileSync(join(envs, 'production.yaml'), prod.replace(/^extends: base\.yaml$/m, 'extends: null'));
    const r = cli('render', '--environments', envs, '--out', out);
    writeFileSync(join(envs, 'production.yaml'), prod);
    expect(r.err).toMatch(/production\.yaml:\d+:10: error TOPOLOGY_INVALID_VALUE: extends must be string \(field extends\)/);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(readFileSync(join(out, 'production', 'topoforge-index.json'), 'utf8')).toBe(before);
  });

  it('a key or a file name with control characters is printed escaped: no forged line, no terminal escape', () => {
    const evil = join(envs, 'evil\u001b[2J\nfake:1:1: error X.yaml');
    const staging = readFileSync(join(envs, 'staging.yaml'), 'utf8');
    writeFileSync(evil, 'kind: Environment\nname: [\n');
    writeFileSync(join(envs, 'staging.yaml'), `${staging}"x\\n\\nrendered 2 environments into out/\\n": 1\n"ev\\e]0;PWNED\\a\\e[2J": 2\n`);
    const r = cli('plan', '--environments', envs);
    rmSync(evil);
    writeFileSync(join(envs, 'staging.yaml'), staging);
    expect(r.code).toBe(2);
    expect(r.out + r.err).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    expect(r.err).not.toMatch(/^(rendered|fake)/m);
    expect(r.err).toContain('error TOPOLOGY_UNKNOWN_KEY: unknown key "x\\n\\nrendered 2 environments into out/\\n"');
    expect(r.err).toContain('error TOPOLOGY_UNKNOWN_KEY: unknown key "ev\\u001b]0;PWNED\\u0007\\u001b[2J" (field ev\\u001b]0;PWNED\\u0007\\u001b[2J)');
    expect(r.err).toMatch(/evil\\u001b\[2J\\nfake:1:1: error X\.yaml:\d+:\d+: error TOPOLOGY_YAML_SYNTAX/);
  });

  it('an unknown environment name exits 2 and lists the known ones', () => {
    const r = cli('render', '--env', 'prod', '--environments', envs, '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toContain('no environment named "prod"');
    expect(r.err).toContain('known environments: production, staging');
  });

  it('bad usage exits 64 with help pointer; --help exits 0', () => {
    const r = cli('render', '--bogus');
    expect(r.code).toBe(64);
    expect(r.err).toContain("unknown option '--bogus'");
    expect(cli('plan', '--month', '2026-13', '--environments', envs).code).toBe(64);
    expect(cli('plan', '--from', '2026-02-30x', '--environments', envs)).toMatchObject({ code: 64, err: expect.stringContaining('--from must be a date') });
    const h = cli('--help');
    expect(h.code).toBe(0);
    expect(h.out).toContain('render');
    expect(h.out).toContain('check');
    expect(h.out).toContain('plan');
  });

  it('plan prints the placement table and recovery order', () => {
    const r = cli('plan', '--env', 'production', '--environments', envs);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# production \(production\): 10 DCs, 7 regions, 7 services$/m);
    expect(r.out).toMatch(/^warehouse +4 +x +x +x +x +\. +\. +\. +\. +x +\.$/m);
    expect(r.out).toContain('## Recovery order\n\n1. social-network\n2. telemetry\n');
  });
});

describe('a production version that never passed staging', () => {
  const envs = join(work, 'stand-environments');
  const out = join(work, 'stand-out');
  cpSync(join(repo, 'environments'), envs, { recursive: true });
  const edit = (file: string, from: string, to: string): void => {
    const text = readFileSync(join(envs, file), 'utf8');
    expect(text).toContain(from);
    writeFileSync(join(envs, file), text.replace(from, to));
  };
  const tree = (): string =>
    spawnSync('sh', ['-c', 'find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum'], { cwd: out, encoding: 'utf8' }).stdout;

  it('is refused by render, check and plan with the line it comes from, exit 2, nothing written; the staging-first flow renders it', () => {
    expect(cli('render', '--environments', envs, '--out', out).code).toBe(0);
    const before = tree();
    // A bump in the shared base reaches production in the same render: refused there.
    const line =
      readFileSync(join(envs, 'base.yaml'), 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('version: "3.8.0"')) + 1;
    edit('base.yaml', 'version: "3.8.0"', 'version: "3.9.0"');
    for (const args of [
      ['render', '--out', out],
      ['check', '--out', out],
      ['plan', '--env', 'production'],
    ]) {
      const r = cli(...args, '--environments', envs);
      expect(r.code).toBe(2);
      expect(r.err).toContain(
        `base.yaml:${line}:14: error PROMOTE_NOT_VERIFIED: storefront-web 3.9.0 never passed staging (verified/staging.yaml), so production may not run it (field services.storefront-web.version)`,
      );
    }
    expect(tree()).toBe(before);
    // Staging alone renders: that is where the version gets verified.
    expect(cli('render', '--env', 'staging', '--environments', envs, '--out', out).code).toBe(0);
    // The flow: staging first, verify, promote; then production renders it.
    edit('base.yaml', 'version: "3.9.0"', 'version: "3.8.0"');
    writeFileSync(join(envs, 'staging.yaml'), readFileSync(join(envs, 'staging.yaml'), 'utf8') + '\nservices:\n  storefront-web: { version: "3.9.0" }\n');
    expect(cli('render', '--environments', envs, '--out', out).code).toBe(0);
    expect(cli('verify', '--env', 'staging', '--service', 'storefront-web', '--version', '3.9.0', '--environments', envs).code).toBe(0);
    expect(cli('promote', '--from', 'staging', '--to', 'production', '--environments', envs).code).toBe(0);
    const r = cli('render', '--environments', envs, '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^production: .*; 0 added, [1-9]\d* changed, 0 removed$/m);
    // A production override of a version rolled back on staging is refused too.
    writeFileSync(
      join(envs, 'verified/staging.yaml'),
      readFileSync(join(envs, 'verified/staging.yaml'), 'utf8') + 'failed:\n  social-web:\n    "1.19.3": "rolled back in stg01"\n',
    );
    const failed = cli('check', '--environments', envs, '--out', out);
    expect(failed.code).toBe(2);
    expect(failed.err).toContain('error PROMOTE_VERSION_FAILED: social-web 1.19.3 failed on staging: rolled back in stg01');
  });
});

describe('a production image that staging does not run', () => {
  const envs = join(work, 'image-environments');
  const out = join(work, 'image-out');
  cpSync(join(repo, 'environments'), envs, { recursive: true });
  const tree = (): string =>
    spawnSync('sh', ['-c', 'find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum'], { cwd: out, encoding: 'utf8' }).stdout;
  const production = readFileSync(join(envs, 'production.yaml'), 'utf8');
  const staging = readFileSync(join(envs, 'staging.yaml'), 'utf8');
  const imageOf = (dc: string) =>
    /image: (\S+)/.exec(readFileSync(join(out, `production/clusters/${dc}/workloads/storefront-web/deployment-storefront-web.yaml`), 'utf8'))![1];

  it('is refused by render, check, plan, diff and html at the line that set it, though its tag is verified; promote carries a move done on staging', () => {
    expect(cli('render', '--environments', envs, '--out', out).code).toBe(0);
    const before = tree();
    writeFileSync(join(envs, 'production.yaml'), `${production}\nservices:\n  storefront-web:\n    image: registry.example.net/unreviewed/storefront-web\n`);
    const line = readFileSync(join(envs, 'production.yaml'), 'utf8').split('\n').indexOf('    image: registry.example.net/unreviewed/storefront-web') + 1;
    const html = join(work, 'image-plan.html');
    for (const args of [
      ['render', '--out', out],
      ['check', '--out', out],
      ['plan', '--env', 'production'],
      ['diff', '--against', out],
      ['plan', '--env', 'production', '--html', html],
    ]) {
      const r = cli(...args, '--environments', envs);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toContain(
        `production.yaml:${line}:12: error PROMOTE_IMAGE_NOT_TESTED: storefront-web's image registry.example.net/unreviewed/storefront-web is not one staging runs (registry.example.com/commerce/storefront-web) or ran a verified version of (verified/staging.yaml), so production may not run it (field services.storefront-web.image)`,
      );
      expect(r.err).toContain('`topoforge promote --from staging --to production --service storefront-web` carries it here');
    }
    expect(tree()).toBe(before);
    expect(existsSync(html)).toBe(false);
    expect(cli('promote', '--from', 'staging', '--to', 'production', '--check', '--environments', envs).code).toBe(2);
    // Staging first: production stays on the image staging ran its verified versions from (the ledger lists it)
    // while the move is tested there; promote carries it once verify listed it.
    writeFileSync(join(envs, 'production.yaml'), production);
    writeFileSync(join(envs, 'staging.yaml'), `${staging}\nservices:\n  storefront-web: { image: registry.example.net/commerce/storefront-web }\n`);
    expect(cli('render', '--environments', envs, '--out', out).code).toBe(0);
    for (const dc of ['dc01', 'dc10']) expect(imageOf(dc)).toBe('registry.example.com/commerce/storefront-web:3.8.0');
    const early = cli('promote', '--from', 'staging', '--to', 'production', '--environments', envs);
    expect(early.code).toBe(2);
    expect(early.err).toContain('PROMOTE_IMAGE_NOT_TESTED');
    const v = cli('verify', '--env', 'staging', '--service', 'storefront-web', '--version', '3.8.0', '--environments', envs);
    expect(v.code, v.err).toBe(0);
    const p = cli('promote', '--from', 'staging', '--to', 'production', '--environments', envs);
    expect(p.code, p.err).toBe(0);
    expect(p.out).toContain('storefront-web: image registry.example.com/commerce/storefront-web -> registry.example.net/commerce/storefront-web\n');
    expect(p.out).toContain('+    image: "registry.example.net/commerce/storefront-web"');
    expect(cli('render', '--environments', envs, '--out', out).code).toBe(0);
    for (const dc of ['dc01', 'dc10']) expect(imageOf(dc)).toBe('registry.example.net/commerce/storefront-web:3.8.0');
  });
});

describe('topoforge promote and verify', () => {
  const envs = join(work, 'promote-environments');
  cpSync(join(repo, 'environments'), envs, { recursive: true });
  rmSync(join(envs, 'verified'), { recursive: true, force: true });
  writeFileSync(join(envs, 'staging.yaml'), readFileSync(join(envs, 'staging.yaml'), 'utf8') + '\nservices:\n  storefront-web: { version: "3.9.0" }\n');

  it('refuses an unverified version with exit 2, then promotes it once verified', () => {
    const refused = cli('promote', '--from', 'staging', '--to', 'production', '--environments', envs);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('storefront-web 3.9.0 never passed staging');
    const v = cli('verify', '--env', 'staging', '--service', 'storefront-web', '--version', '3.9.0', '--environments', envs);
    expect(v).toMatchObject({ code: 0, out: expect.stringContaining('recorded storefront-web 3.9.0 as verified on staging') });
    const dry = cli('promote', '--from', 'staging', '--to', 'production', '--dry-run', '--environments', envs);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('storefront-web: 3.8.0 -> 3.9.0');
    expect(dry.out).toContain('(dry run:');
    const done = cli('promote', '--from', 'staging', '--to', 'production', '--environments', envs);
    expect(done.out).toContain('wrote ');
    expect(readFileSync(join(envs, 'production.yaml'), 'utf8')).toContain('storefront-web:\n    version: "3.9.0"');
  });

  it('promotes what both run and says which service only staging runs was not promoted and why (exit 0)', () => {
    writeFileSync(
      join(envs, 'staging.yaml'),
      readFileSync(join(envs, 'staging.yaml'), 'utf8') +
        '  search-web: { kind: front-application, image: registry.example.com/commerce/search-web, version: "0.1.0" }\n  social-web: { version: "1.20.0" }\n',
    );
    expect(cli('verify', '--env', 'staging', '--service', 'social-web', '--version', '1.20.0', '--environments', envs).code).toBe(0);
    const r = cli('promote', '--from', 'staging', '--to', 'production', '--environments', envs);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('social-web: 1.19.3 -> 1.20.0\n');
    expect(r.out).toMatch(/^not promoted: search-web \(only staging runs it; add it to \S*production\.yaml to promote it\)$/m);
    const again = cli('promote', '--from', 'staging', '--to', 'production', '--environments', envs);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/^not promoted: search-web /m);
    expect(again.out).toContain('nothing to promote');
    const named = cli('promote', '--from', 'staging', '--to', 'production', '--service', 'search-web', '--environments', envs);
    expect(named.code).toBe(2);
    expect(named.err).toContain('service "search-web" is not in both staging and production');
  });
});
