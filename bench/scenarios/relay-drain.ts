import type { Scenario } from '../lib/scenario.js';

export const relayDrain: Scenario = {
  name: 'relay-drain',
  title: 'TODO',
  async run() {
    throw new Error('not yet');
  },
};
