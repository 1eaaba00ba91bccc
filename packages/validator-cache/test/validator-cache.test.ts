import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { ValidatorCache } from '../src/index.js';

const work = mkdtempSync(join(tmpdir(), 'topoforge-validator-cache-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(work, `cache-${n++}`);

const OPTIONS = { allErrors: true, verbose: true, strict: false, useDefaults: true };
const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, pattern: '^[a-z][a-z0-9-]*$' },
    replicas: { type: 'integer', minimum: 1, maximum: 10, default: 2 },
    labels: { type: 'object', patternProperties: { '^[a-z]+$': { type: 'string' } }, additionalProperties: false, default: {} },
    mode: { anyOf: [{ const: 'canary' }, { const: 'rolling' }] },
  },
};
const INPUTS: unknown[] = [
  { name: 'shop' },
  { name: 'shop', replicas: 3, labels: { team: 'a' }, mode: 'canary' },
  { name: '', replicas: 0, labels: { Team: 'a' }, mode: 'blue', extra: true },
  { replicas: 'two' },
  'not an object',
  { name: 'Ünicode', replicas: 11 },
];

/** What a validator says about each input: verdict, errors, and the input after defaults were filled in. */
function verdicts(validate: (data: unknown) => boolean, errors: () => unknown): unknown[] {
  return INPUTS.map((input) => {
    const data = structuredClone(input);
    const ok = validate(data);
    return { ok, errors: structuredClone(errors()), data };
  });
}

describe('ValidatorCache', () => {
  const reference = new Ajv(OPTIONS).compile(SCHEMA);
  const expected = verdicts(reference, () => reference.errors);

  it('a validator evaluated from disk in a later instance says what ajv says: verdicts, errors with their schemas, defaults', () => {
    const dir = freshDir();
    const first = new ValidatorCache(OPTIONS, dir);
    const v1 = first.compile(SCHEMA);
    expect(first.stats).toEqual({ compiled: 1, loaded: 0, rejected: 0 });
    expect(readdirSync(dir)).toHaveLength(1);
    expect(verdicts(v1, () => v1.errors)).toEqual(expected);

    const second = new ValidatorCache(OPTIONS, dir);
    const v2 = second.compile(structuredClone(SCHEMA)); // another object with the same content
    expect(second.stats).toEqual({ compiled: 0, loaded: 1, rejected: 0 });
    expect(verdicts(v2, () => v2.errors)).toEqual(expected);
    // The errors really were produced (not an empty list on both sides).
    expect((expected[2] as { errors: unknown[] }).errors.length).toBeGreaterThanOrEqual(5);
  });

  it('a changed schema or changed options never meet an old validator', () => {
    const dir = freshDir();
    new ValidatorCache(OPTIONS, dir).compile(SCHEMA);
    const changed = structuredClone(SCHEMA);
    changed.properties.replicas.maximum = 20;
    const c = new ValidatorCache(OPTIONS, dir);
    const v = c.compile(changed);
    expect(c.stats.compiled).toBe(1);
    expect(v({ name: 'a', replicas: 15 })).toBe(true);
    const noDefaults = new ValidatorCache({ ...OPTIONS, useDefaults: false }, dir);
    const d = { name: 'a' };
    noDefaults.compile(SCHEMA)(d);
    expect(noDefaults.stats.compiled).toBe(1);
    expect(d).toEqual({ name: 'a' });
    expect(readdirSync(dir)).toHaveLength(3);
  });

  it('a broken file is rejected, compiled again and replaced', () => {
    const dir = freshDir();
    new ValidatorCache(OPTIONS, dir).compile(SCHEMA);
    const [file] = readdirSync(dir);
    writeFileSync(join(dir, file!), 'module.exports = (');
    const c = new ValidatorCache(OPTIONS, dir);
    const v = c.compile(SCHEMA);
    expect(c.stats).toEqual({ compiled: 1, loaded: 0, rejected: 1 });
    expect(verdicts(v, () => v.errors)).toEqual(expected);
    const again = new ValidatorCache(OPTIONS, dir);
    again.compile(SCHEMA);
    expect(again.stats.loaded).toBe(1);
  });

  it('a directory that cannot be written, or none, still validates', () => {
    const blocked = join(work, 'a-file');
    writeFileSync(blocked, '');
    const c = new ValidatorCache(OPTIONS, join(blocked, 'validators'));
    const v = c.compile(SCHEMA);
    expect(verdicts(v, () => v.errors)).toEqual(expected);
    const none = new ValidatorCache(OPTIONS, false);
    const w = none.compile(SCHEMA);
    expect(w({ name: 'x' })).toBe(true);
    expect(none.stats).toEqual({ compiled: 1, loaded: 0, rejected: 0 });
  });

  it('one compile per schema within a process, whatever the number of calls', () => {
    const c = new ValidatorCache(OPTIONS, freshDir());
    const a = c.compile(SCHEMA);
    expect(c.compile(SCHEMA)).toBe(a);
    expect(c.compile(structuredClone(SCHEMA))).toBe(a);
    expect(c.stats.compiled).toBe(1);
  });
});
