/** A dependency check that never rejects. */
export interface ReachabilityCheck {
  /** True when the dependency answered within the timeout. */
  check(): Promise<boolean>;
  close(): Promise<void>;
}

export interface KeptClientCheckOptions<Client> {
  /** Makes the client; it is kept between checks and made again after a failed one. */
  open(): Client;
  /** One question to the dependency; resolving means it answered. */
  ask(client: Client): Promise<unknown>;
  /** Ends the client and whatever it still has in flight. */
  close(client: Client): Promise<unknown>;
  /** @default 2000 */
  timeoutMs?: number;
}

/**
 * One client kept between checks, so a check costs a request, not a connection. A check that fails or times out
 * closes that client and resolves only once its question has ended: never two questions at once, and the next check
 * connects afresh.
 */
export function keptClientCheck<Client>(options: KeptClientCheckOptions<Client>): ReachabilityCheck {
  const timeoutMs = options.timeoutMs ?? 2000;
  let client: Client | undefined;
  let closed = false;
  const drop = async () => {
    const dropped = client;
    client = undefined;
    if (dropped !== undefined) await options.close(dropped).catch(() => {});
  };
  return {
    async check() {
      if (closed) return false;
      client ??= options.open();
      const asked = client;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const answer = options.ask(asked).then(
        () => true,
        () => false,
      );
      try {
        const up = await Promise.race([answer, timeout]);
        if (!up && client === asked) {
          await drop();
          await answer;
        }
        return up;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      closed = true;
      await drop();
    },
  };
}
