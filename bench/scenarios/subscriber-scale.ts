import type { Scenario } from '../lib/scenario.js';

export const subscriberScale: Scenario = {
  name: 'subscriber-scale',
  title: 'TODO',
  async run() {
    throw new Error('not yet');
  },
};
