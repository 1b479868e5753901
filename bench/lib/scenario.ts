import type { Progress } from './progress.js';
import type { ScenarioResult } from './results.js';

/** What a scenario measured; the runner adds its name, title and the machine's load before and after. */
export type ScenarioFigures = Pick<ScenarioResult, 'tables' | 'notes'>;

export interface ScenarioContext {
  /** A short run (`--quick`): smaller counts, the same shape. */
  quick: boolean;
  /** KAFKA_BROKERS of the run's broker (found or started by bench-environment.ts). */
  brokers: string;
  /** A URL on the run's PostgreSQL server, for scratch databases. */
  adminDatabaseUrl: string;
  progress: Progress;
  /** Clean-up steps; the runner runs them, last first, whether the scenario succeeded or not. */
  defer(step: () => Promise<unknown>): void;
}

export interface Scenario {
  name: string;
  title: string;
  run(context: ScenarioContext): Promise<ScenarioFigures>;
}
