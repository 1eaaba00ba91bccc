/**
 * What a plugin imports: the contract types, `definePlugin`, the label keys topoforge sets,
 * and TypeBox to write option and policy schemas. Nothing here runs plugins; that is the
 * host's job (@topoforge/plugin-host).
 */
export * from './types.js';
export { definePlugin } from './define.js';
export * from './labels.js';
export { checkNamespaceCollisions, KubernetesName, labelsIfAny, SelectorLabels, type PluginNamespace } from './names.js';
export { ruleTestFile, type AlertRuleTest, type ExpectedAlert, type InputSeries, type RuleTest, type RuleTestFile } from './promtool.js';
export { checkDerivedNames, INT32_MAX, LABEL_VALUE_MAX, CRONJOB_NAME_MAX, STATEFULSET_NAME_MAX, type DerivedName } from './limits.js';
// TypeBox as one module (see @topoforge/bundled-deps): the same Type, loaded in a twentieth of the time.
export { Type, type Static, type TSchema } from '@topoforge/bundled-deps/typebox';
