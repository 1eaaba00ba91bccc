/**
 * What topoforge prints is text for a terminal or a CI log: a character that controls the
 * terminal (ESC starts a sequence that can retitle the window, clear the screen or hide what
 * follows), moves the cursor back (CR) or reorders what is shown (bidi overrides), and a newline
 * inside a key or a file name (a forged line that looks like topoforge's own), is shown as an
 * escape (`\n`, `\u001b`), as JSON writes it, never raw. Keys and file names reach diagnostics
 * unchecked: they are the input that is wrong.
 */

/**
 * C0 and C1 controls but tab and newline, DEL, the Unicode line and paragraph separators and
 * the bidi embedding, override and isolate controls (which make a reviewer read text in another
 * order than a program does). Never meaningful in a line of text: the topology refuses them in
 * its values (text.ts) and what is printed shows them escaped.
 */
export const CONTROL_CHARACTER = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
/** Every control character, newline and tab too: one line. */
const UNPRINTABLE = new RegExp(`[\\t\\n]|${CONTROL_CHARACTER.source}`, 'g');
/** All but newline and tab: text made of lines keeps its lines. */
const UNPRINTABLE_IN_LINES = new RegExp(CONTROL_CHARACTER.source, 'g');

function escape(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\t') return '\\t';
  if (c === '\r') return '\\r';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** One line of text: every control character escaped, newlines included. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}

/** Text of several lines (a command's output): every control character but newline and tab escaped. */
export function printableLines(text: string): string {
  return text.replace(UNPRINTABLE_IN_LINES, escape);
}
