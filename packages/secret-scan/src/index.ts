/**
 * Finds values that look like credentials, and removes them from text before it is
 * printed. Used on the topology model (render refuses a plain-text secret), on every
 * plugin's output (render refuses to write one), on rendered trees (the diff flags them),
 * and on everything the CLI prints (redaction). Reports say where and what kind of value,
 * never the value.
 *
 * Evidence is of three kinds:
 * - the value's own shape, anywhere: PEM/PGP/PuTTY private keys, AWS access key ids,
 *   GitHub, Slack, Stripe and Google tokens, Slack webhooks, JWTs, a URL with a password
 *   or with a token in its query;
 * - a literal under a key named like a credential (`password`, `clientSecret`, `apiKey`,
 *   `token`…), or an assignment of one inside a longer value (`api_key="…"` in a PromQL
 *   selector, `PASSWORD=…` in a script);
 * - a long high-entropy value under a key-like name (`signingKey`, `auth`, `hmac`…).
 * Keys that name a reference (`secretName`, `tokenSecretRef`, `passwordFile`,
 * `existingSecret`) and placeholders (`${VAR}`, `{{ .x }}`, `<set me>`) are not credentials.
 */

interface Shape {
  readonly re: RegExp;
  readonly what: string;
}

const SHAPES: readonly Shape[] = [
  { re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/, what: 'a PEM private key' },
  { re: /PuTTY-User-Key-File-\d+:/, what: 'a PuTTY private key' },
  { re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/, what: 'an AWS access key id' },
  { re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/, what: 'a GitHub token' },
  { re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/, what: 'a Slack token' },
  { re: /https:\/\/hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9_/-]{16,}/, what: 'a Slack webhook URL' },
  { re: /\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,}\b/, what: 'a Stripe key' },
  { re: /\bAIza[0-9A-Za-z_-]{35}\b/, what: 'a Google API key' },
  { re: /\bya29\.[0-9A-Za-z_-]{20,}/, what: 'a Google OAuth access token' },
  { re: /"type"\s*:\s*"service_account"[\s\S]*"private_key"|"private_key_id"\s*:\s*"[0-9a-f]{16,}"/, what: 'a Google service account key' },
  { re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, what: 'a JSON Web Token' },
  { re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]+:[^\s@/'"$<{]+@/i, what: 'a URL with a password' },
  {
    re: /[?&#;](?:access_token|id_token|refresh_token|token|api[_-]?key|apikey|key|secret|client_secret|password|passwd|pwd|auth|sig|signature|x-amz-signature|x-amz-credential|x-goog-signature|sas|code)=(?!\$\{|\{\{|<)[^&\s'"#]{8,}/i,
    what: 'a URL with a token in its query',
  },
];

const CREDENTIAL_KEY = /(password|passwd|pwd|secret|token|apikey|accesskey|secretkey|privatekey|credential|credentials|passphrase|authtoken|bearer)$/;
const REFERENCE_KEY = /^(existing)|(name|ref|file|path|selector|secretname|keyref|enabled|length|ttl|seconds|id)$/;
/** Names under which a long random value is a key even when the name does not say secret. */
const KEYLIKE_KEY = /(key|auth|signature|sig|hmac|salt|seed|cookie|session|dsn|cert|jwt|license)$/;
/** `api_key="…"`, `PASSWORD=…`, `token: …` inside a longer value. */
const EMBEDDED =
  /(?:^|[\s{,;(&?"'])["']?([A-Za-z0-9_.-]*?(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|credentials?|passphrase))["']?\s*(=~|!=|=|:)\s*["']?([^"'\s,;}&)]{4,})/gi;
/** `TOPOLOGY_PLAIN_SECRET: message` is an error code followed by text, not an assignment. */
const notAssignment = (key: string, op: string): boolean => op === ':' && /^[A-Z0-9]+(?:_[A-Z0-9]+)+$/.test(key);

function placeholder(v: string): boolean {
  const s = v.trim();
  return (
    s.length < 4 ||
    /^\$\{.*\}$|^\$\(.*\)$|^\{\{.*\}\}$|^<.*>$|^\*+$|^\$[A-Z_][A-Z0-9_]*$|^(redacted|\[redacted\]|none|null|true|false|changeme|changeit-in-vault|example)$/i.test(
      s,
    ) ||
    s.startsWith('/')
  );
}

const normKey = (key: string): string => key.toLowerCase().replace(/[^a-z0-9]/g, '');
const isReferenceKey = (k: string): boolean => REFERENCE_KEY.test(k);

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Long, random-looking, one word: what generated keys look like (not names, paths or sentences). */
function highEntropy(v: string): boolean {
  const mixed = /[a-z]/.test(v) && /[A-Z]/.test(v) && /[0-9]/.test(v);
  return v.length >= 20 && /^[A-Za-z0-9+/=_.~-]+$/.test(v) && (mixed || /^[0-9a-f]{32,}$/i.test(v)) && entropy(v) >= 3.5;
}

/**
 * Cheap necessary conditions, so most values skip the thirteen shape regexes and the
 * assignment scan (render scans every string of every emitted object: at 100k objects the
 * unfiltered scan was the largest CPU cost of a render). Each is a superset of what it
 * guards: every SHAPES match contains one of SHAPE_MARKERS (case-insensitively), and every
 * EMBEDDED match contains one of its key words. `test/secret-scan.test.ts` checks the
 * filtered and unfiltered paths agree.
 */
const SHAPE_MARKERS =
  /-----BEGIN|PuTTY-User-Key-File-|AKIA|ASIA|ABIA|ACCA|gh[pousr]_|github_pat_|xox[abposr]-|hooks\.slack\.com|[sr]k_(?:live|test)_|AIza|ya29\.|"type"|"private_key_id"|eyJ|:\/\/|[?&#;][a-z_-]+=/i;
const EMBEDDED_MARKERS = /pass|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential/i;
/**
 * Either marker: most values hold neither, and one expression over them costs about half of
 * testing each (the two were a third of the scan's time at 100k objects).
 */
const ANY_MARKER = new RegExp(`${SHAPE_MARKERS.source}|${EMBEDDED_MARKERS.source}`, 'i');

interface KeyClass {
  readonly reference: boolean;
  readonly credential: boolean;
  readonly keylike: boolean;
}
/** What a key says about the value under it, and what the key itself looks like by shape (see keyInfo). */
interface KeyInfo extends KeyClass {
  readonly shape: string | undefined;
}
/**
 * Keys repeat across every object (`name`, `image`, `value`): classified once each, class and
 * shape together: one lookup per key the walk visits, passed down to the values under it
 * (scanObject on 100k Deployments: ~280 ms against ~295 ms with a lookup for each).
 */
const keyInfos = new Map<string, KeyInfo>();
function classify(key: string): KeyClass {
  const k = normKey(key);
  return { reference: isReferenceKey(k), credential: CREDENTIAL_KEY.test(k), keylike: KEYLIKE_KEY.test(k) };
}
function keyInfo(key: string): KeyInfo {
  let c = keyInfos.get(key);
  if (c === undefined) {
    const k = classify(key);
    // One object shape for every key (the walk reads these at every value).
    c = {
      reference: k.reference,
      credential: k.credential,
      keylike: k.keylike,
      shape: SHAPE_MARKERS.test(key) ? SHAPES.find((s) => s.re.test(key))?.what : undefined,
    };
    if (keyInfos.size < 10_000) keyInfos.set(key, c);
  }
  return c;
}

function shapeReason(value: string, filtered: boolean): string | undefined {
  if (filtered && !SHAPE_MARKERS.test(value)) return undefined;
  for (const s of SHAPES) if (s.re.test(value)) return `looks like ${s.what}`;
  return undefined;
}

function embeddedReason(value: string, filtered: boolean): string | undefined {
  if (filtered && !EMBEDDED_MARKERS.test(value)) return undefined;
  for (const m of value.matchAll(EMBEDDED)) {
    const k = normKey(m[1]!);
    if (!isReferenceKey(k) && !notAssignment(m[1]!, m[2]!) && !placeholder(m[3]!)) return `an assignment of "${m[1]}" inside the value`;
  }
  return undefined;
}

/** Why a value found under `key` looks like a credential; undefined when it does not. */
export function credentialReason(key: string | undefined, value: string): string | undefined {
  return reason(key, value, true);
}

/**
 * Whether a key names a credential or key material (`password`, `apiToken`, `signingKey`,
 * `credentialSecret`), not a reference to one (`secretName`, `tokenFile`): what is under it is
 * never quoted back, whatever it looks like (a number, or a short word, is no credential by
 * shape, but `password: 12345678` is one).
 */
export function credentialKey(key: string): boolean {
  const c = keyInfo(key);
  return !c.reference && (c.credential || c.keylike);
}

/** credentialReason without the prefilters: the reference the filtered path is tested against. */
export function credentialReasonUnfiltered(key: string | undefined, value: string): string | undefined {
  return reason(key, value, false);
}

function reason(key: string | undefined, value: string, filtered: boolean, info?: KeyClass): string | undefined {
  const r = filtered && !ANY_MARKER.test(value) ? undefined : (shapeReason(value, filtered) ?? embeddedReason(value, filtered));
  if (r !== undefined || key === undefined) return r;
  const c = info ?? (filtered ? keyInfo(key) : classify(key));
  if (c.reference) return undefined;
  if (c.credential && !placeholder(value)) return `a literal value under "${key}"`;
  if (c.keylike && highEntropy(value)) return `a high-entropy value under "${key}"`;
  return undefined;
}

export interface SecretFinding {
  /** Field path in the object (`spec.auth.password`) or `line N` in a text file. */
  readonly where: string;
  readonly reason: string;
}

export interface ValueFinding extends SecretFinding {
  /** The path as segments, for looking up a source position. */
  readonly segments: readonly (string | number)[];
}

/**
 * Every string in a plain value (and every key, by shape) checked with credentialReason;
 * `where` is a dotted path (`spec.auth.password`, `items[2]`).
 */
export function scanValue(value: unknown): ValueFinding[] {
  const out: ValueFinding[] = [];
  // A scan begun inside another (from a getter the walk reads) starts above the outer one's path.
  const outerBase = segBase;
  const top = segTop;
  segBase = segTop;
  try {
    walk(value, undefined, undefined, 0, out);
  } finally {
    segTop = top;
    segBase = outerBase;
  }
  return out;
}

/*
 * The path of the value being scanned, as a stack shared by every scan: SEGS[segBase..segTop)
 * is the current scan's. `where` and the segments are copied only for a finding. Module-level
 * rather than closures made per call, which were a tenth of the scan's garbage at 100k objects.
 */
const SEGS: (string | number)[] = [];
let segTop = 0;
let segBase = 0;

function where(): string {
  let acc = '';
  for (let i = segBase; i < segTop; i++) {
    const s = SEGS[i]!;
    acc = typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s;
  }
  return acc;
}

/** `info`: keyInfo(key), looked up once where the key was met (undefined with the key: the top). */
function walk(v: unknown, key: string | undefined, info: KeyInfo | undefined, depth: number, out: ValueFinding[]): void {
  if (depth > 64) return;
  if (typeof v === 'string') {
    const r = reason(key, v, true, info);
    if (r) out.push({ where: where(), reason: r, segments: SEGS.slice(segBase, segTop) });
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      SEGS[segTop++] = i;
      walk(v[i], key, info, depth + 1, out);
      segTop--;
    }
  } else if (v && typeof v === 'object') {
    // for…in with an own-key test visits what Object.keys lists, in its order, without making
    // an array per object (~1.2 KB of garbage per Kubernetes object, issue 19).
    for (const k in v) {
      if (!Object.hasOwn(v, k)) continue;
      const ki = keyInfo(k);
      const shape = ki.shape;
      if (shape) {
        const w = where();
        out.push({ where: w ? `${w}.(a key)` : '(a key)', reason: `a key that looks like ${shape}`, segments: [...SEGS.slice(segBase, segTop), k] });
      }
      SEGS[segTop++] = k;
      walk((v as Record<string, unknown>)[k], k, ki, depth + 1, out);
      segTop--;
    }
  }
}

/** Credential-looking values in a parsed Kubernetes object (Secret data included). */
export function scanObject(obj: Readonly<Record<string, unknown>>): SecretFinding[] {
  const out: SecretFinding[] = [];
  if (obj.kind === 'Secret' && (obj.apiVersion === 'v1' || obj.apiVersion === undefined)) {
    for (const field of ['data', 'stringData'] as const) {
      const d = obj[field];
      if (d && typeof d === 'object' && Object.keys(d).length > 0) {
        out.push({ where: `${field} (${Object.keys(d).sort().join(', ')})`, reason: 'a Secret with its value in plain text (base64 is not encryption)' });
      }
    }
  }
  // Only a Secret is copied (without its data): every other object is scanned as it is.
  const secret = obj.kind === 'Secret';
  const rest = secret ? Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'data' && k !== 'stringData')) : obj;
  for (const f of scanValue(rest)) out.push({ where: f.where, reason: f.reason });
  return out;
}

const ENV_LINE =
  /^\s*(?:export\s+)?[A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY)[A-Za-z0-9_]*\s*=\s*["']?([^\s"'#]{4,})/i;
const QUOTED = /(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']([^"'\n]{4,})["']/i;

/** Credential-looking lines in a text file that is not a Kubernetes manifest. */
export function scanText(text: string): SecretFinding[] {
  const out: SecretFinding[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    for (const s of SHAPES) {
      if (s.re.test(line)) {
        out.push({ where: `line ${i + 1}`, reason: `looks like ${s.what}` });
        return;
      }
    }
    const m = ENV_LINE.exec(line) ?? QUOTED.exec(line);
    if (m && !placeholder(m[1]!)) out.push({ where: `line ${i + 1}`, reason: 'a literal credential assignment' });
  });
  return out;
}

const REDACTED = '[redacted]';

/**
 * Text with every credential-shaped part replaced by `[redacted]`: key formats, URL
 * user-info (`https://user:pass@host` → `https://[redacted]@host`), query tokens and
 * credential assignments. Applied to everything topoforge prints.
 */
export function redactSecrets(text: string): string {
  let t = text;
  // URL user-info first: a token used as the user name (https://ghp_…@github.com) counts too.
  t = t.replace(/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@'"<>]+)@/gi, (_m, scheme: string) => `${scheme}${REDACTED}@`);
  t = t.replace(
    /([?&#;](?:access_token|id_token|refresh_token|token|api[_-]?key|apikey|key|secret|client_secret|password|passwd|pwd|auth|sig|signature|x-amz-signature|x-amz-credential|x-goog-signature|sas|code)=)[^&\s'"#]{4,}/gi,
    `$1${REDACTED}`,
  );
  t = t.replace(/-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----[\s\S]*?(?:-----END \1-----|$)/g, REDACTED);
  t = t.replace(/PuTTY-User-Key-File-\d+:[\s\S]*?(?:Private-MAC:\s*\S+|$)/g, REDACTED);
  t = t.replace(/("private_key(?:_id)?"\s*:\s*")[^"]*"/g, `$1${REDACTED}"`);
  for (const s of SHAPES) {
    if (/PEM|PuTTY|service account|URL with/.test(s.what)) continue;
    t = t.replace(new RegExp(s.re.source, s.re.flags + 'g'), REDACTED);
  }
  t = t.replace(EMBEDDED, (m: string, key: string, op: string, value: string) =>
    isReferenceKey(normKey(key)) || notAssignment(key, op) || placeholder(value) ? m : m.slice(0, m.length - value.length) + REDACTED,
  );
  return t;
}
