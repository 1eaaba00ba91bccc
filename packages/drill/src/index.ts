export {
  runDrill,
  formatTimeline,
  checks,
  simTime,
  SIM_EPOCH,
  DrillError,
  webhookTokenSecret,
  type DrillOptions,
  type DrillResult,
  type DrillEvent,
  type Check,
} from './run.js';
export { parseScenario, ScenarioError, ScenarioSchema, offsetMinutes, type Scenario } from './scenario.js';
export { parsePromtoolOutput, evaluate, type FiringAlert } from './promtool.js';
export { startAlertmanager, startOrchestrator, freePort, which, type ChoosePort, type Proc, type OrchestratorOptions } from './processes.js';

import { fileURLToPath } from 'node:url';
/** Directory of the scenarios shipped with this package. */
export const SCENARIOS_DIR = fileURLToPath(new URL('../scenarios', import.meta.url));
