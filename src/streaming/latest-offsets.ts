import type { Watermarks } from './log-client.js';

/**
 * The answer of a request sent after the call: callers arriving while one request is out share the next one, so a
 * burst of callers costs a request or two, and none gets an answer older than its call.
 */
export function onceAfterCall<T>(fetch: () => Promise<T>): { (): Promise<T>; readonly idle: boolean } {
  const ignore = () => undefined;
  let queued: Promise<T> | undefined;
  let current: Promise<unknown> = Promise.resolve();
  let outstanding = 0;
  const call = () => {
    if (queued) return queued;
    const request = current.then(ignore, ignore).then(() => {
      queued = undefined;
      return fetch();
    });
    queued = request;
    current = request;
    outstanding++;
    void request.then(ignore, ignore).then(() => outstanding--);
    return request;
  };
  return Object.defineProperty(call, 'idle', { get: () => outstanding === 0 }) as { (): Promise<T>; readonly idle: boolean };
}

/** The topic's watermarks, shared as `onceAfterCall` shares: a burst of LATEST subscriptions costs a request or two. */
export function latestOffsetsOnce(fetch: () => Promise<ReadonlyMap<number, Watermarks>>): () => Promise<ReadonlyMap<number, Watermarks>> {
  return onceAfterCall(fetch);
}

/**
 * `onceAfterCall` per key (a SINCE instant, say): subscriptions asking the same question at once share its
 * requests. A key's entry is dropped once nothing is out for it.
 */
export function keyedOnceAfterCall<K, T>(fetch: (key: K) => Promise<T>): (key: K) => Promise<T> {
  const byKey = new Map<K, ReturnType<typeof onceAfterCall<T>>>();
  return (key) => {
    let lookup = byKey.get(key);
    if (!lookup) {
      lookup = onceAfterCall(() => fetch(key));
      byKey.set(key, lookup);
    }
    const answer = lookup();
    const entry = lookup;
    // A turn later, once onceAfterCall's own bookkeeping ran, so `idle` is current.
    const settled = () =>
      setImmediate(() => {
        if (entry.idle && byKey.get(key) === entry) byKey.delete(key);
      });
    answer.then(settled, settled);
    return answer;
  };
}
