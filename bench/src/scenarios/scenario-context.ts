import type { Deployment } from '../deployment.js';
import type { Profile } from '../profile.js';
import type { ServerLoopDelayWindow } from '../server-metrics.js';

/** What every scenario gets: the running deployment, its parameters and a place for its data. */
export interface ScenarioContext {
  readonly deployment: Deployment;
  readonly profile: Profile;
  /** Run-unique id prefix (`bench-<run>/`) under which the scenario names its entities. */
  readonly idPrefix: string;
  /** This repository (where the baseline server lives). */
  readonly repoRoot: string;
  readonly log: (message: string) => void;
  /**
   * The worst event-loop delay of the deployment's processes over the running scenario. A
   * scenario that reads /metrics scrapes through it.
   */
  readonly serverLoop?: ServerLoopDelayWindow;
}
