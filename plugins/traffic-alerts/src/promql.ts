/**
 * Model values placed into PromQL: label values escaped, selectors checked against the
 * PromQL grammar (the lezer grammar Prometheus' own UI uses), so a quote or a newline in an
 * environment file is a coded error at load instead of a rule Prometheus rejects later.
 */
import { parser } from '@prometheus-io/lezer-promql';

/** A PromQL double-quoted string literal for any value (backslash, quote, control characters escaped). */
export function quoteLabelValue(value: string): string {
  let out = '"';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `{a="x",b="y"}` with keys sorted, values escaped. */
export function matchers(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${quoteLabelValue(labels[k]!)}`)
    .join(',')}}`;
}

/** Syntax errors of a PromQL expression, as positions into it; empty when it parses. */
export function promqlSyntaxErrors(expr: string): number[] {
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter: (n) => {
      if (n.type.isError) errors.push(n.from);
    },
  });
  return errors;
}

export interface SelectorProblem {
  /** Dot path below the service, e.g. `traffic.selector.service`. */
  readonly field: string;
  readonly message: string;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Checks a service's traffic metric and selector before any rule is built from them. Label
 * values may hold any text once escaped, but a line break or control character in a traffic
 * selector is almost certainly a YAML mistake (a folded string, a stray quote), so it is
 * refused rather than silently matched against nothing.
 */
export function checkTrafficSelector(metric: string, selector: Readonly<Record<string, string>>, dcLabel: string): SelectorProblem[] {
  const problems: SelectorProblem[] = [];
  if (!METRIC_NAME.test(metric)) problems.push({ field: 'traffic.metric', message: `metric name ${JSON.stringify(metric)} is not a PromQL metric name` });
  for (const [k, v] of Object.entries(selector)) {
    if (!LABEL_NAME.test(k)) problems.push({ field: `traffic.selector.${k}`, message: `label name ${JSON.stringify(k)} is not a PromQL label name` });
    if (/[\u0000-\u001f\u007f]/.test(v))
      problems.push({ field: `traffic.selector.${k}`, message: `label value ${JSON.stringify(v)} contains a line break or control character` });
    if (k === dcLabel)
      problems.push({
        field: `traffic.selector.${k}`,
        message: `the selector must not fix the DC label "${dcLabel}": the rules compare every DC of the service`,
      });
  }
  if (problems.length === 0) {
    const expr = `${metric}${matchers(selector)}`;
    const errs = promqlSyntaxErrors(expr);
    if (errs.length > 0) problems.push({ field: 'traffic.selector', message: `selector ${expr} does not parse as PromQL (at offset ${errs[0]})` });
  }
  return problems;
}
