/**
 * Finds values that look like credentials in rendered output, so the diff can flag them
 * before they are committed. Reports say where and what kind of value, never the value.
 *
 * Two kinds of evidence: the value's own shape (a PEM private key, an AWS access key id, a
 * GitHub/Slack token, a JWT, a URL with a password) anywhere; and a literal string under a
 * key named like a credential (`password`, `clientSecret`, `apiKey`, `token`…). Keys that
 * name a reference (`secretName`, `tokenSecretRef`, `passwordFile`, `existingSecret`)
 * and values that are placeholders (`${VAR}`, `{{ .x }}`, `<set me>`) are not credentials.
 */

const SHAPES: readonly (readonly [RegExp, string])[] = [
  [/-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/, 'a PEM private key'],
  [/\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/, 'an AWS access key id'],
  [/\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b/, 'a GitHub token'],
  [/\bxox[abposr]-[A-Za-z0-9-]{10,}/, 'a Slack token'],
  [/\bAIza[0-9A-Za-z_-]{35}\b/, 'a Google API key'],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, 'a JSON Web Token'],
  [/\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/'"]+:[^\s@/'"$<{]+@/i, 'a URL with a password'],
];

const CREDENTIAL_KEY = /(password|passwd|pwd|secret|token|apikey|accesskey|secretkey|privatekey|credential|credentials|passphrase)$/;
const REFERENCE_KEY = /^(existing)|(name|ref|file|path|selector|secretname|keyref|enabled|length|ttl|seconds)$/;

function placeholder(v: string): boolean {
  const s = v.trim();
  return s.length < 4 || /^\$\{.*\}$|^\$\(.*\)$|^\{\{.*\}\}$|^<.*>$|^\*+$|^(redacted|none|null|true|false|changeit-in-vault)$/i.test(s) || s.startsWith('/');
}

/** Why a value found under `key` looks like a credential; undefined when it does not. */
export function credentialReason(key: string | undefined, value: string): string | undefined {
  for (const [re, what] of SHAPES) if (re.test(value)) return `looks like ${what}`;
  if (key !== undefined) {
    const k = key.toLowerCase().replace(/[^a-z0-9]/g, '');
    if (CREDENTIAL_KEY.test(k) && !REFERENCE_KEY.test(k) && !placeholder(value)) return `a literal value under "${key}"`;
  }
  return undefined;
}

export interface SecretFinding {
  /** Field path in the object (`spec.auth.password`) or `line N` in a text file. */
  readonly where: string;
  readonly reason: string;
}

function walk(value: unknown, path: string, key: string | undefined, out: SecretFinding[]): void {
  if (typeof value === 'string') {
    const r = credentialReason(key, value);
    if (r) out.push({ where: path, reason: r });
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, `${path}[${i}]`, key, out));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k, k, out);
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
  for (const [k, v] of Object.entries(obj)) {
    if (obj.kind === 'Secret' && (k === 'data' || k === 'stringData')) continue;
    walk(v, k, k, out);
  }
  return out;
}

const ENV_LINE = /^\s*(?:export\s+)?[A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|APIKEY|ACCESS_KEY|PRIVATE_KEY)[A-Za-z0-9_]*\s*=\s*["']?([^\s"'#]{4,})/i;
const QUOTED = /(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|client[_-]?secret)["']?\s*[:=]\s*["']([^"'\n]{4,})["']/i;

/** Credential-looking lines in a text file that is not a Kubernetes manifest. */
export function scanText(text: string): SecretFinding[] {
  const out: SecretFinding[] = [];
  const lines = text.split('\n');
  const pem = SHAPES[0]![0];
  lines.forEach((line, i) => {
    for (const [re, what] of SHAPES) {
      if (re.test(line)) {
        out.push({ where: `line ${i + 1}`, reason: `looks like ${what}` });
        return;
      }
    }
    const m = ENV_LINE.exec(line) ?? QUOTED.exec(line);
    if (m && !placeholder(m[1]!) && !pem.test(line)) out.push({ where: `line ${i + 1}`, reason: 'a literal credential assignment' });
  });
  return out;
}
