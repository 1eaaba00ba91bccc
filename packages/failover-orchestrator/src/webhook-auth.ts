/**
 * Who may post alerts: `Authorization: Bearer <token>` with a token from a file
 * (`--webhook-token-file`, a Kubernetes Secret mounted as a directory). Alertmanager sends it
 * from the AlertmanagerConfig's `httpConfig.authorization` (prometheus-operator resolves that
 * Secret reference into `http_config.authorization.credentials`).
 *
 * - The file is read again on every authenticated request, not watched: a Secret rotation
 *   swaps the mounted directory's `..data` symlink, which a watch on the file (its old inode)
 *   does not see; a read of a file of a few bytes per webhook (Alertmanager sends a few per
 *   minute) costs less than parsing the body, and is never stale.
 * - One token per line; blank lines are ignored. Two lines during a rotation: the orchestrator's
 *   copy holds the new and the old token until every Alertmanager sends the new one
 *   (Alertmanager does not retry a 401, so a token both sides do not share loses notifications).
 * - A token is 16 to 4096 visible ASCII characters (what an HTTP header carries unchanged);
 *   surrounding white space, the trailing newline of `echo … >` included, is not part of it.
 * - Compared in constant time: SHA-256 digests (equal length whatever was sent) with
 *   crypto.timingSafeEqual, against every token of the file without stopping at a match.
 * - The token is never logged, printed or put into an error message; errors name the file and line.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { open } from 'node:fs/promises';

/** A token file larger than this is refused (a token is at most 4096 characters). */
export const MAX_TOKEN_FILE_BYTES = 64 * 1024;
const TOKEN = /^[\x21-\x7e]{16,4096}$/;

export class TokenFileError extends Error {
  readonly code = 'ORCHESTRATOR_WEBHOOK_TOKEN_INVALID';
}

const digest = (s: string | Buffer): Buffer => createHash('sha256').update(s).digest();

/** The digests of the tokens in a token file's text; `source` names the file in errors. */
export function parseTokenFile(text: string, source: string): Buffer[] {
  const out: Buffer[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    if (!TOKEN.test(line)) throw new TokenFileError(`${source}:${i + 1}: a token is 16 to 4096 visible ASCII characters (no spaces); this line is not`);
    out.push(digest(line));
  }
  if (out.length === 0) throw new TokenFileError(`${source}: no token in the file`);
  return out;
}

async function readBounded(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(MAX_TOKEN_FILE_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) throw new TokenFileError(`${path}: larger than ${MAX_TOKEN_FILE_BYTES} bytes`);
    }
    return buf.subarray(0, n).toString('utf8');
  } finally {
    await fh.close();
  }
}

export type AuthResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly status: 401; readonly reason: 'missing' | 'wrong'; readonly message: string }
  | { readonly ok: false; readonly status: 503; readonly reason: 'token-unavailable'; readonly message: string };

export class WebhookAuth {
  constructor(readonly tokenFile: string) {}

  /** The tokens' digests, read now. Throws TokenFileError (unreadable, empty, a bad line). */
  async load(): Promise<Buffer[]> {
    let text: string;
    try {
      text = await readBounded(this.tokenFile);
    } catch (err) {
      if (err instanceof TokenFileError) throw err;
      throw new TokenFileError(`${this.tokenFile}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return parseTokenFile(text, this.tokenFile);
  }

  /** Checks an `Authorization` header against the file as it is now. */
  async check(header: string | undefined): Promise<AuthResult> {
    const m = /^Bearer +([^ ]+) *$/i.exec(header ?? '');
    if (!m) return { ok: false, status: 401, reason: 'missing', message: 'Authorization: Bearer <token> is required' };
    let tokens: Buffer[];
    try {
      tokens = await this.load();
    } catch (err) {
      // Fail closed, and with a 5xx: Alertmanager retries those (a Secret being rotated), not a 401.
      return { ok: false, status: 503, reason: 'token-unavailable', message: (err as Error).message };
    }
    const presented = digest(m[1]!);
    let match = false;
    // Every token is compared, a match does not stop the loop.
    for (const t of tokens) match = timingSafeEqual(presented, t) || match;
    return match ? { ok: true } : { ok: false, status: 401, reason: 'wrong', message: 'the bearer token is not the webhook token' };
  }
}
