import type { Scenario } from '../lib/scenario.js';

export const endToEndLatency: Scenario = {
  name: 'end-to-end-latency',
  title: 'TODO',
  async run() {
    throw new Error('not yet');
  },
};
