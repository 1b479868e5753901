/**
 * A full garbage collection in the gateway on demand, through the V8 inspector it opens on loopback when started with
 * `--inspect=127.0.0.1:0`: the transports scenario reads the gateway's RSS right after one, so that a few hundred
 * subscriptions' growth is not lost in the young generation's swings (tens of MiB, whenever the collector happens to run).
 */
import WebSocket from 'ws';

/** The node option that opens the inspector on a free loopback port. */
export const INSPECT_ARG = '--inspect=127.0.0.1:0';

export interface GatewayCollector {
  /** HeapProfiler.collectGarbage: resolves once the collection is done. */
  collect(): Promise<void>;
  /** V8's used heap plus memory outside it held by JS objects (buffers), in bytes: `process.memoryUsage()` in the gateway. */
  jsBytes(): Promise<number>;
  close(): void;
}

/** Connects to the inspector whose address the gateway printed (`Debugger listening on ws://...`) among `lines`. */
export async function connectCollector(lines: readonly string[]): Promise<GatewayCollector> {
  const address = lines.map((line) => /Debugger listening on (ws:\/\/127\.0\.0\.1:\d+\/[\w-]+)/.exec(line)?.[1]).find(Boolean);
  if (!address) throw new Error('the gateway printed no inspector address (was it started with --inspect?)');
  const socket = new WebSocket(address);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 1;
  const pending = new Map<number, (result: unknown) => void>();
  socket.on('message', (raw) => {
    const message = JSON.parse(String(raw)) as { id?: number; result?: unknown };
    if (message.id === undefined) return;
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    collect: async () => {
      await call('HeapProfiler.collectGarbage');
    },
    async jsBytes() {
      const expression = 'JSON.stringify(process.memoryUsage())';
      const answer = (await call('Runtime.evaluate', { expression, returnByValue: true })) as { result?: { value?: string } };
      const usage = JSON.parse(answer.result?.value ?? '{}') as { heapUsed?: number; external?: number };
      return (usage.heapUsed ?? Number.NaN) + (usage.external ?? Number.NaN);
    },
    close: () => socket.close(),
  };
}
