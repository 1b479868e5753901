import type { Watermarks } from './log-client.js';

/**
 * The topic's watermarks from a request sent after the call: callers arriving while one request is out share the
 * next one, so a burst of LATEST subscriptions costs a request or two, and none gets offsets older than its call.
 */
export function latestOffsetsOnce(fetch: () => Promise<ReadonlyMap<number, Watermarks>>): () => Promise<ReadonlyMap<number, Watermarks>> {
  const ignore = () => undefined;
  let queued: Promise<ReadonlyMap<number, Watermarks>> | undefined;
  let current: Promise<unknown> = Promise.resolve();
  return () => {
    if (queued) return queued;
    const request = current.then(ignore, ignore).then(() => {
      queued = undefined;
      return fetch();
    });
    queued = request;
    current = request;
    return request;
  };
}
