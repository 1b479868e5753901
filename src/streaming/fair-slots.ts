interface CallerState {
  held: number;
  readonly waiting: (() => void)[];
  /** Releases by others before a caller that holds and waits for nothing stops counting among the callers. */
  lingering: number;
}

/**
 * A fixed number of slots shared by callers, none of whom can hold more than a fair share: with n callers holding,
 * waiting for, or lately done with a slot (within the last `total` releases by others), each holds at most
 * ceil(total / n), and a freed slot goes to the waiting callers in turn. A
 * caller replaying the whole topic on a hundred subscriptions gets as many reads as one catching up on one: it
 * cannot make the other wait behind its hundred. Plain bookkeeping, no timers or I/O: `grant` is called when a slot
 * is given, synchronously from `acquire` or `release`.
 */
export class FairSlots<K> {
  readonly #total: number;
  readonly #callers = new Map<K, CallerState>();
  /** Callers with waiting requests, in the order their turn comes. */
  #turns: K[] = [];
  #held = 0;

  constructor(total: number) {
    if (!Number.isSafeInteger(total) || total < 1) throw new RangeError('total must be a positive integer');
    this.#total = total;
  }

  /** The most slots one caller may hold now. */
  get share(): number {
    return Math.ceil(this.#total / Math.max(1, this.#callers.size));
  }

  /** Slots held by `caller` (or by everyone). */
  held(caller?: K): number {
    return caller === undefined ? this.#held : (this.#callers.get(caller)?.held ?? 0);
  }

  /** Requests of `caller` waiting for a slot. */
  waiting(caller: K): number {
    return this.#callers.get(caller)?.waiting.length ?? 0;
  }

  /** Asks for a slot for `caller`: `grant` is called once it has one, at once if its share allows. */
  acquire(caller: K, grant: () => void): void {
    let state = this.#callers.get(caller);
    if (!state) {
      state = { held: 0, waiting: [], lingering: 0 };
      this.#callers.set(caller, state);
    }
    state.lingering = 0;
    if (state.waiting.length === 0) this.#turns.push(caller);
    state.waiting.push(grant);
    this.#dispatch();
  }

  /** Gives back a slot `caller` held. */
  release(caller: K): void {
    const state = this.#callers.get(caller);
    if (!state || state.held === 0) throw new Error('release without a held slot');
    state.held--;
    this.#held--;
    for (const [other, otherState] of this.#callers) {
      if (other === caller || otherState.lingering === 0) continue;
      if (--otherState.lingering === 0) this.#callers.delete(other);
    }
    // A caller reading one chunk after another holds nothing for a moment between reads: counted out at once, its
    // share went to the others, and its next read waited behind every one of theirs.
    if (state.held === 0 && state.waiting.length === 0) state.lingering = this.#total;
    this.#dispatch();
  }

  /** Free slots to the waiting callers in turn, each up to its share; a caller at its share waits for the next round. */
  #dispatch(): void {
    // Called once the books are straight: a grant may acquire or release at once.
    const granted: (() => void)[] = [];
    let passed = 0;
    while (this.#held < this.#total && passed < this.#turns.length) {
      const [caller] = this.#turns.splice(0, 1);
      const state = caller === undefined ? undefined : this.#callers.get(caller);
      const grant = state?.waiting[0];
      if (caller === undefined || !state || !grant) continue;
      if (state.held >= this.share) {
        this.#turns.push(caller);
        passed++;
        continue;
      }
      passed = 0;
      state.waiting.shift();
      state.held++;
      this.#held++;
      if (state.waiting.length > 0) this.#turns.push(caller);
      granted.push(grant);
    }
    for (const grant of granted) grant();
  }
}
