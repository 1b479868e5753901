import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { lifecycle } from '../../src/lifecycle.js';

const silent = pino({ level: 'silent' });

describe('lifecycle', () => {
  it('should start components in order and stop them in reverse, a failing stop not stopping the rest', async () => {
    const events: string[] = [];
    const component = (name: string, failStop = false) => ({
      name,
      start: () => void events.push(`start ${name}`),
      stop: async () => {
        events.push(`stop ${name}`);
        if (failStop) throw new Error(`${name} would not stop`);
      },
    });
    const app = lifecycle([component('database'), component('relay', true), component('http')], silent);
    await app.start();
    await app.stop();
    expect(events).toEqual(['start database', 'start relay', 'start http', 'stop http', 'stop relay', 'stop database']);
  });

  it('should stop only what started when a start failed, and nothing twice', async () => {
    const events: string[] = [];
    const app = lifecycle(
      [
        { name: 'database', start: () => void events.push('start database'), stop: () => void events.push('stop database') },
        {
          name: 'http',
          start: () => {
            throw new Error('port in use');
          },
          stop: () => void events.push('stop http'),
        },
        { name: 'websockets', stop: () => void events.push('stop websockets') },
      ],
      silent,
    );
    await expect(app.start()).rejects.toThrow('port in use');
    await app.stop();
    await app.stop();
    expect(events).toEqual(['start database', 'stop http', 'stop database']);
  });
});
