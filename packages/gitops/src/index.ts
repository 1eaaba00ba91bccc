export { diffTrees, diffExitCode, type DiffReport, type EnvironmentDiff, type ObjectChange, type FileChange, type ChangeType } from './diff.js';
export {
  riskFlags,
  RISK_TITLES,
  RISK_SEVERITY,
  RISK_WHY,
  SEVERITY_ORDER,
  titleOf,
  severityOf,
  whyOf,
  type RiskFlag,
  type RiskRule,
  type Severity,
  type BuiltinRiskRule,
  type PluginRiskRule,
} from './risks.js';
export { foldFlags, dcMatcher, dcNames, DC_PLACEHOLDER } from './fold.js';
export { inputChanges, causesOf, causeText, detailEvidence, type Evidence, type InputChange, type TreeSource } from './provenance.js';
export { fieldChanges, type FieldChange } from './fields.js';
export { formatMarkdown, commitMessage, flagLine, countsText, orderFlags, becauseText, COMMENT_MARKER, type MarkdownOptions } from './markdown.js';
export { parseEnvironment, manifestDocuments, isKubeObject, objectLabel, ordered, type ObjectRecord, type ParsedEnvironment } from './objects.js';
export {
  readTree,
  readTreeChecked,
  knownFromRender,
  treeFromRender,
  renameSourceFiles,
  pluginFromPath,
  type RenderedTree,
  type TreeEnvironment,
  type TreeFile,
  type KnownFiles,
} from './tree.js';
export { validateLayout } from './layout.js';
export { renderTree, renderAtRef, publish, type OnRendered, type PublishRequest, type PublishResult, type RefRenderRequest } from './git.js';
export { review, type ReviewRequest, type ReviewResult } from './review.js';
export { compareExpr, type ExprChange, type LiteralChange, type Direction } from '@topoforge/review-prometheus';
export { parseGoDuration, parsePromDuration, humanDuration } from './durations.js';
export { credentialReason, scanObject, scanText, type SecretFinding } from './secrets.js';
export type { GitopsCode, GitopsDiagnostic, Outcome } from './problems.js';
