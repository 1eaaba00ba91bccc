export {
  collectPlanData,
  type CollectOptions,
  type PlanPageData,
  type PlanBackup,
  type PlanDatabase,
  type PlanFailover,
  type PlanCanary,
  type CanaryState,
  type PlanService,
  type PlanDataCenter,
  type PlanRegion,
} from './data.js';
export { renderPlanHtml, renderDiffHtml, planChanges, type DiffPair, type Marks } from './html.js';
