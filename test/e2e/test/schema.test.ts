/**
 * `topoforge schema` for editors: the committed schema is what the command prints, and
 * the REAL yaml-language-server (npm, spoken to over stdio with the Language Server
 * Protocol, as an editor does) finds mistakes at the right line of a wrong environment
 * file — in the model and in a plugin's options — and nothing in the bundled files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node.js';

const repo = fileURLToPath(new URL('../../..', import.meta.url));
const bin = join(repo, 'packages/cli/bin/topoforge.js');
const work = mkdtempSync(join(tmpdir(), 'topoforge-schema-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function topoforge(cwd: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('topoforge schema', () => {
  it('the committed environments/topoforge.schema.json is what the command prints (run `pnpm exec topoforge schema --out environments/topoforge.schema.json` after a schema change)', () => {
    const r = topoforge(repo, 'schema');
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(join(repo, 'environments/topoforge.schema.json'), 'utf8')).toBe(r.out);
  });

  it('includes the options schema of every plugin the environments use', () => {
    // properties are `anyOf: [schema, null]` (null removes a key when files merge)
    type Nullable<T> = { anyOf: [T, { type: 'null' }] };
    type Obj = { properties: Record<string, Nullable<Obj>> };
    const s = JSON.parse(topoforge(repo, 'schema').out) as Obj;
    const plugins = s.properties.plugins!.anyOf[0].properties;
    expect(Object.keys(plugins)).toEqual(['flagger', 'namespaces', 'pulumi', 'session-cache', 'traffic-alerts', 'velero', 'workloads']);
    expect(Object.keys(plugins.velero!.anyOf[0].properties.options!.anyOf[0].properties)).toContain('restoreDrill');
  });

  it('--out writes the file; every bundled environment file names it in its yaml-language-server line', () => {
    const out = join(work, 'schema.json');
    expect(topoforge(repo, 'schema', '--out', out).code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(repo, 'environments/topoforge.schema.json'), 'utf8'));
    for (const f of ['base.yaml', 'production.yaml', 'staging.yaml']) {
      expect(readFileSync(join(repo, 'environments', f), 'utf8').split('\n')[0], f).toBe('# yaml-language-server: $schema=./topoforge.schema.json');
    }
  });
});

interface Diagnostic {
  readonly range: { readonly start: { readonly line: number } };
  readonly message: string;
  readonly severity?: number;
}

/** yaml-language-server as an editor runs it: a child process speaking LSP on stdio. */
class YamlLanguageServer {
  private readonly proc: ChildProcess;
  private readonly conn: MessageConnection;
  private readonly diagnostics = new Map<string, { at: number; list: Diagnostic[] }>();

  constructor(root: string) {
    const main = createRequire(import.meta.url).resolve('yaml-language-server/package.json');
    this.proc = spawn(process.execPath, [join(dirname(main), 'bin/yaml-language-server'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'], cwd: root });
    this.conn = createMessageConnection(new StreamMessageReader(this.proc.stdout!), new StreamMessageWriter(this.proc.stdin!));
    const settings = { yaml: { validate: true, hover: false, completion: false, schemaStore: { enable: false }, schemas: {} } };
    this.conn.onNotification('textDocument/publishDiagnostics', (p: { uri: string; diagnostics: Diagnostic[] }) =>
      this.diagnostics.set(p.uri, { at: Date.now(), list: p.diagnostics }),
    );
    this.conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
      p.items.map((i) => (i.section === 'yaml' ? settings.yaml : i.section ? undefined : settings)),
    );
    this.conn.onRequest('client/registerCapability', () => null);
    this.conn.onRequest('window/workDoneProgress/create', () => null);
    this.conn.listen();
    this.settings = settings;
    this.root = root;
  }
  private readonly settings: object;
  private readonly root: string;

  async start(): Promise<void> {
    await this.conn.sendRequest('initialize', {
      processId: process.pid,
      rootUri: pathToFileURL(this.root).href,
      capabilities: { workspace: { configuration: true } },
      workspaceFolders: null,
    });
    await this.conn.sendNotification('initialized', {});
    await this.conn.sendNotification('workspace/didChangeConfiguration', { settings: this.settings });
  }

  /** Opens a file and waits until its diagnostics have settled (no new publication for 1.5 s). */
  async check(file: string): Promise<Diagnostic[]> {
    const uri = pathToFileURL(file).href;
    this.diagnostics.delete(uri);
    await this.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text: readFileSync(file, 'utf8') } });
    const deadline = Date.now() + 30_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      const d = this.diagnostics.get(uri);
      if (d && Date.now() - d.at > 1500) return d.list;
      if (Date.now() > deadline) throw new Error(`no diagnostics for ${file}`);
    }
  }

  async stop(): Promise<void> {
    try {
      await this.conn.sendRequest('shutdown');
      await this.conn.sendNotification('exit');
    } catch {
      // already gone
    }
    this.conn.dispose();
    if (this.proc.exitCode === null) this.proc.kill();
  }
}

describe('yaml-language-server with the schema', () => {
  const dir = join(work, 'lsp');
  let server: YamlLanguageServer;
  beforeAll(async () => {
    cpSync(join(repo, 'environments'), join(dir, 'environments'), { recursive: true });
    server = new YamlLanguageServer(dir);
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reports nothing in the bundled environment files', async () => {
    for (const f of ['base.yaml', 'production.yaml', 'staging.yaml']) {
      expect(
        (await server.check(join(dir, 'environments', f))).map((d) => `${d.range.start.line + 1}: ${d.message}`),
        f,
      ).toEqual([]);
    }
  });

  it('reports a deliberately wrong environment file at the right lines: a wrong type, an unknown key, a wrong plugin option', async () => {
    const text = [
      '# yaml-language-server: $schema=./topoforge.schema.json',
      'kind: Environment',
      'name: broken',
      'extends: base.yaml',
      'stage: production',
      'dataCenters:',
      '  dc01:',
      '    rotation: first',
      'regions:',
      '  eu-west:',
      '    timezone: Europe/Lisbon',
      'plugins:',
      '  velero:',
      '    options:',
      '      namespace: 42',
      '',
    ].join('\n');
    const file = join(dir, 'environments/broken.yaml');
    writeFileSync(file, text);
    const found = await server.check(file);
    const at = (line: number) =>
      found
        .filter((d) => d.range.start.line + 1 === line)
        .map((d) => d.message)
        .join(' | ');
    expect(at(8)).toMatch(/Incorrect type\. Expected "integer \| null"/);
    expect(at(11)).toMatch(/Property timezone is not allowed/);
    expect(at(15)).toMatch(/Incorrect type\. Expected "string \| null"/);
    // nothing else: overriding only some fields of the base is fine in one file
    expect(found.map((d) => d.range.start.line + 1).sort((a, b) => a - b)).toEqual([8, 11, 15]);
    // and topoforge itself agrees on the line of the unknown key (it checks the merged files)
    const r = topoforge(repo, 'render', '--environments', join(dir, 'environments'), '--out', join(work, 'out'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.yaml:11:5: error TOPOLOGY_UNKNOWN_KEY: unknown key "timezone"/);
  });
});
