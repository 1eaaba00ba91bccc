import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_TOKEN_FILE_BYTES, parseTokenFile, WebhookAuth } from '../src/index.js';

const dir = mkdtempSync(join(tmpdir(), 'orchestrator-auth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'a'.repeat(15) + 'Z';

describe('the webhook token file', () => {
  it('holds one token per line, white space around it ignored; a short, spaced or non-ASCII token is refused without quoting it', () => {
    expect(parseTokenFile(`${TOKEN}\n`, 'f')).toHaveLength(1);
    expect(parseTokenFile(`\n  ${TOKEN}\r\n\n${TOKEN}x\n`, 'f')).toHaveLength(2);
    for (const [text, line] of [
      ['', 0],
      ['\n \n', 0],
      ['short', 1],
      [`${TOKEN}\nwith space inside`, 2],
      [`${TOKEN}é`, 1],
      ['x'.repeat(4097), 1],
    ] as const) {
      let message = '';
      try {
        parseTokenFile(text, 'f');
      } catch (e) {
        message = (e as Error).message;
        expect((e as { code: string }).code).toBe('ORCHESTRATOR_WEBHOOK_TOKEN_INVALID');
      }
      expect(message).toBe(line === 0 ? 'f: no token in the file' : `f:${line}: a token is 16 to 4096 visible ASCII characters (no spaces); this line is not`);
    }
  });

  it('checks the header against every token of the file as it is now', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${TOKEN}\n`);
    const auth = new WebhookAuth(file);
    expect(await auth.check(`Bearer ${TOKEN}`)).toEqual({ ok: true });
    expect(await auth.check(`bearer   ${TOKEN}`)).toEqual({ ok: true });
    for (const h of [undefined, '', 'Bearer', `Basic ${TOKEN}`, `Bearer ${TOKEN} x`, TOKEN])
      expect(await auth.check(h)).toMatchObject({ ok: false, status: 401, reason: 'missing' });
    for (const h of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN.toLowerCase()}`])
      expect(await auth.check(h)).toMatchObject({ ok: false, status: 401, reason: 'wrong' });
    writeFileSync(file, `${TOKEN}x\n${TOKEN}\n`);
    expect(await auth.check(`Bearer ${TOKEN}`)).toEqual({ ok: true });
    expect(await auth.check(`Bearer ${TOKEN}x`)).toEqual({ ok: true });
    writeFileSync(file, 'x'.repeat(MAX_TOKEN_FILE_BYTES + 1));
    expect(await auth.check(`Bearer ${TOKEN}`)).toMatchObject({
      ok: false,
      status: 503,
      reason: 'token-unavailable',
      message: `${file}: larger than ${MAX_TOKEN_FILE_BYTES} bytes`,
    });
  });
});
