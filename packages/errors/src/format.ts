/**
 * Friendly text from catalog entries: what `topoforge explain CODE` prints, and the hint the
 * CLI shows for a problem reported without one of its own.
 */
import { ERRORS, type ErrorCode } from './errors-data.js';

const isCode = (code: string): code is ErrorCode => Object.hasOwn(ERRORS, code);

/** The anchor GitHub gives the code's heading in docs/errors.md (`### \`CODE\` — Title`). */
export function docsAnchor(code: ErrorCode): string {
  const heading = `${code} — ${ERRORS[code].title}`;
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The catalog's hint for a code (lower-cased first letter, no final dot, as CLI hints are written). */
export function catalogHint(code: string): string | undefined {
  if (!isCode(code)) return undefined;
  const h = ERRORS[code].hint.replace(/\.$/, '');
  return h.charAt(0).toLowerCase() + h.slice(1);
}

/** Several lines for a terminal: code and title, what it means, what to do, where to read more. */
export function explainCode(code: string): string | undefined {
  const c = code.trim().toUpperCase();
  if (!isCode(c)) return undefined;
  const e = ERRORS[c];
  return [`${c} — ${e.title}`, '', e.message, '', `What to do: ${e.hint}`, '', `More: docs/errors.md#${docsAnchor(c)}`].join('\n');
}

/** Known codes closest to a mistyped one (same area first), for `explain`'s refusal. */
export function similarCodes(code: string, max = 3): string[] {
  const c = code.trim().toUpperCase();
  const words = c.split('_').filter(Boolean);
  // A word matches when it is the same or one starts the other (LOCK ~ LOCKED), at 3+ letters.
  const like = (w: string) => (words.includes(w) ? 1 : words.some((x) => Math.min(x.length, w.length) >= 3 && (x.startsWith(w) || w.startsWith(x))) ? 0.75 : 0);
  return Object.keys(ERRORS)
    .map((k) => [k, k.split('_').reduce((n, w) => n + like(w), 0) + (k.split('_')[0] === words[0] ? 0.5 : 0)] as const)
    .filter(([, score]) => score >= 1)
    .sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0))
    .slice(0, max)
    .map(([k]) => k);
}
