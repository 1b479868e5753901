import type { Progress } from './progress.js';
import type { ScenarioResult } from './results.js';

export interface ScenarioContext {
  /** A short run (`--quick`): smaller counts, the same shape. */
  quick: boolean;
  progress: Progress;
  /** Clean-up steps; the runner runs them, last first, whether the scenario succeeded or not. */
  defer(step: () => Promise<unknown>): void;
}

export interface Scenario {
  name: string;
  title: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}
