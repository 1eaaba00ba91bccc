import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { setVersions } from '../src/edit.js';

const production = readFileSync(fileURLToPath(new URL('../../../environments/production.yaml', import.meta.url)), 'utf8');
const lines = (t: string) => t.split('\n');
const version = (t: string, s: string) => (parse(t) as { services: Record<string, { version: unknown }> }).services[s]!.version;

describe('setVersions changes the version and nothing else', () => {
  it('appends a services block to the bundled production file, every existing byte kept', () => {
    const out = setVersions(production, [{ service: 'online-store', version: '7.5.0' }]);
    expect(out.startsWith(production)).toBe(true);
    expect(out.slice(production.length)).toBe('\nservices:\n  online-store:\n    version: "7.5.0"\n');
  });

  it('replaces an existing value in place, keeping alignment and comments on the line', () => {
    const text =
      'kind: Environment\nservices:\n  shop:   { version: "1.0.0", port: 80 }   # pinned by ops\n  web:\n    version: 2.0.0   # unquoted\n    port: 81\n';
    const out = setVersions(text, [
      { service: 'shop', version: '1.1.0' },
      { service: 'web', version: '2.1.0' },
    ]);
    expect(out).toBe(
      'kind: Environment\nservices:\n  shop:   { version: "1.1.0", port: 80 }   # pinned by ops\n  web:\n    version: "2.1.0"   # unquoted\n    port: 81\n',
    );
  });

  it('adds the key to an entry that has none, in block and flow style', () => {
    const text = 'services:\n    shop:\n        port: 80\n    web: { port: 81 }\n    api: {}\n# end\n';
    const out = setVersions(text, [
      { service: 'shop', version: '1.0.0' },
      { service: 'web', version: '2.0.0' },
      { service: 'api', version: '3.0.0' },
    ]);
    expect(out).toBe(
      'services:\n    shop:\n        port: 80\n        version: "1.0.0"\n    web: { version: "2.0.0", port: 81 }\n    api: { version: "3.0.0" }\n# end\n',
    );
  });

  it('adds a service to an existing services mapping with its indentation', () => {
    const block = setVersions('services:\n    shop: { version: "1" }\nplugins: {}\n', [{ service: 'web', version: '2' }]);
    expect(block).toBe('services:\n    shop: { version: "1" }\n    web:\n      version: "2"\nplugins: {}\n');
    const flow = setVersions('services: { shop: { version: "1" } }\n', [{ service: 'web', version: '2' }]);
    expect(flow).toBe('services: { web: { version: "2" }, shop: { version: "1" } }\n');
  });

  it('keeps versions strings (1.10 is not the number 1.1)', () => {
    const out = setVersions('services:\n  shop:\n    version: "1.9"\n', [{ service: 'shop', version: '1.10' }]);
    expect(version(out, 'shop')).toBe('1.10');
  });

  it('sets the image too when a promotion carries it, one line per field, and the image alone', () => {
    const out = setVersions(production, [{ service: 'web', image: 'r.net/web', version: '2.0.0' }]);
    expect(out.slice(production.length)).toBe('\nservices:\n  web:\n    image: "r.net/web"\n    version: "2.0.0"\n');
    const text = 'services:\n  shop:\n    version: "1.0.0"\n  web: { image: r.com/web, version: "2.0.0" }\n  api: { version: "3.0.0" }\n';
    expect(
      setVersions(text, [
        { service: 'shop', image: 'r.net/shop' },
        { service: 'web', image: 'r.net/web' },
        { service: 'api', image: 'r.net/api', version: '3.1.0' },
      ]),
    ).toBe(
      'services:\n  shop:\n    version: "1.0.0"\n    image: "r.net/shop"\n  web: { image: "r.net/web", version: "2.0.0" }\n  api: { image: "r.net/api", version: "3.1.0" }\n',
    );
    expect(() => setVersions('services:\n  shop:\n    image: [r]\n', [{ service: 'shop', image: 'r' }])).toThrow('services.shop.image is not a scalar');
  });

  it('refuses shapes it cannot edit safely instead of guessing', () => {
    expect(() => setVersions('services:\n  - shop\n', [{ service: 'shop', version: '1' }])).toThrow('`services` is not a mapping');
    expect(() => setVersions('services:\n  shop: pinned\n', [{ service: 'shop', version: '1' }])).toThrow('services.shop is not a mapping');
    expect(() => setVersions('services:\n  shop:\n    version: [1]\n', [{ service: 'shop', version: '1' }])).toThrow('services.shop.version is not a scalar');
  });

  it('the whole-document printer would have rewritten the file (why edit.ts exists)', async () => {
    const { parseDocument } = await import('yaml');
    const doc = parseDocument(production);
    doc.setIn(['services', 'online-store', 'version'], '7.5.0');
    const reprinted = lines(doc.toString());
    const changed = reprinted.filter((l, i) => l !== lines(production)[i]).length;
    expect(changed).toBeGreaterThan(10);
  });
});
