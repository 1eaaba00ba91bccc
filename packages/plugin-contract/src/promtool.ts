/**
 * The file `promtool test rules` reads (Prometheus docs, "Unit Testing for Rules"), as the
 * plugins that render alert rules emit it next to them for CI in the GitOps repository
 * (traffic-alerts, flagger, velero) and as @topoforge/drill writes it to evaluate a scenario.
 * One declaration instead of one per emitter, so a misspelt field (promtool reads
 * `alert_rule_test`, singular) is a type error at build time rather than a strict-unmarshal
 * failure of promtool in the repository's CI after the render.
 * Only the parts topoforge writes: alert tests, no `promql_expr_test`, no `external_labels`.
 */

/** An input series: a series selector and its values in promtool's expanding notation (`1x10 0+1x5`). */
export interface InputSeries {
  readonly series: string;
  readonly values: string;
}

/** One alert expected to fire; annotations are compared only when given. */
export interface ExpectedAlert {
  readonly exp_labels: Readonly<Record<string, string>>;
  readonly exp_annotations?: Readonly<Record<string, string>>;
}

/** The alerts named `alertname` firing at `eval_time`: exactly `exp_alerts`, none when empty. */
export interface AlertRuleTest {
  readonly eval_time: string;
  readonly alertname: string;
  readonly exp_alerts: readonly ExpectedAlert[];
}

/** One test group: its input series at `interval` and the alert checks against them. */
export interface RuleTest {
  /** Printed by promtool when the group fails. */
  readonly name?: string;
  readonly interval: string;
  readonly input_series: readonly InputSeries[];
  readonly alert_rule_test: readonly AlertRuleTest[];
}

export interface RuleTestFile {
  /** Relative to the test file. */
  readonly rule_files: readonly string[];
  readonly evaluation_interval: string;
  readonly tests: readonly RuleTest[];
}

/**
 * The test file of one rules file. Fixes the key order too, which is the order of the rendered
 * YAML: every emitter writes rule_files, evaluation_interval, tests.
 */
export const ruleTestFile = (rulesFile: string, evaluationInterval: string, tests: readonly RuleTest[]): RuleTestFile => ({
  rule_files: [rulesFile],
  evaluation_interval: evaluationInterval,
  tests,
});
