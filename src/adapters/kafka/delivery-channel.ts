/** A value the subscriber took; `ack()` once it asks for the next one (so this one reached the client). */
export interface Handoff<T> {
  readonly value: T;
  ack(): void;
}

/** The producer's side of one offered value. */
export interface Offer {
  /** true once acknowledged; false when withdrawn or the channel ended first. */
  readonly acked: Promise<boolean>;
  /** Whether it has been acknowledged already. */
  isAcked(): boolean;
  /** Takes the value back if not taken yet; either way it will never count as acknowledged. */
  withdraw(): void;
}

interface Entry<T> {
  readonly value: T;
  readonly acked: Promise<boolean>;
  outcome(): boolean | undefined;
  settle(acked: boolean): void;
}

function entryOf<T>(value: T): Entry<T> {
  let resolve: (acked: boolean) => void = () => {};
  const acked = new Promise<boolean>((r) => {
    resolve = r;
  });
  let outcome: boolean | undefined;
  const settle = (ok: boolean) => {
    if (outcome !== undefined) return;
    outcome = ok;
    resolve(ok);
  };
  return { value, acked, outcome: () => outcome, settle };
}

/**
 * Hands values from a Kafka handler to one subscriber, in order, each one
 * acknowledged separately. It stores only what the handler offered and has
 * not seen acknowledged yet; the handler bounds that number.
 */
export class DeliveryChannel<T> {
  readonly #queued: Entry<T>[] = [];
  readonly #unsettled = new Set<Entry<T>>();
  #taker: ((entry: Entry<T> | undefined) => void) | undefined;
  #failTaker: ((error: unknown) => void) | undefined;
  #ended: { readonly error: unknown } | undefined;

  offer(value: T): Offer {
    const entry = entryOf(value);
    const withdraw = () => {
      const at = this.#queued.indexOf(entry);
      if (at >= 0) this.#queued.splice(at, 1);
      this.#unsettled.delete(entry);
      entry.settle(false);
    };
    const offer: Offer = { acked: entry.acked, isAcked: () => entry.outcome() === true, withdraw };
    if (this.#ended) {
      entry.settle(false);
      return offer;
    }
    this.#unsettled.add(entry);
    const taker = this.#taker;
    if (taker) {
      this.#clearTaker();
      taker(entry);
    } else {
      this.#queued.push(entry);
    }
    return offer;
  }

  /** The next value; undefined once the channel ended; rejects if it ended with an error. One take at a time. */
  async take(): Promise<Handoff<T> | undefined> {
    if (this.#ended) {
      if (this.#ended.error !== undefined) throw this.#ended.error;
      return undefined;
    }
    if (this.#taker) throw new Error('DeliveryChannel.take() called while another take() is pending');
    const entry =
      this.#queued.shift() ??
      (await new Promise<Entry<T> | undefined>((resolve, reject) => {
        this.#taker = resolve;
        this.#failTaker = reject;
      }));
    if (entry === undefined) return undefined;
    return {
      value: entry.value,
      ack: () => {
        this.#unsettled.delete(entry);
        entry.settle(true);
      },
    };
  }

  /** Refuses every unacknowledged and future offer; a pending take() gets undefined, or rejects with `error`. */
  end(error?: unknown): void {
    if (this.#ended) return;
    this.#ended = { error };
    this.#queued.length = 0;
    for (const entry of this.#unsettled) entry.settle(false);
    this.#unsettled.clear();
    const [taker, failTaker] = [this.#taker, this.#failTaker];
    this.#clearTaker();
    if (error !== undefined) failTaker?.(error);
    else taker?.(undefined);
  }

  #clearTaker(): void {
    this.#taker = undefined;
    this.#failTaker = undefined;
  }
}
