import type { SubscriptionChurn } from '../domain/subscription-churn.js';
import { AppError } from '../errors.js';

export interface SubscriptionLimitsOptions {
  /** Subscriptions open at once on one socket; 0 for no limit. */
  readonly perSocket: number;
  /** Subscriptions open at once for one caller (token `sub`) in this process; 0 for no limit. */
  readonly perCaller: number;
  /**
   * New subscriptions per caller per minute (RATE_LIMITED past it). One instance for the process, passed to every
   * transport's limits, so a caller cannot add a minute's allowance per transport. Absent: no such limit.
   */
  readonly churn?: SubscriptionChurn;
}

/**
 * Counts the subscriptions open on each socket and for each caller, and refuses one over either limit with
 * TOO_MANY_SUBSCRIPTIONS, or one over the caller's new subscriptions per minute with RATE_LIMITED; the socket and its
 * other subscriptions go on.
 */
export class SubscriptionLimits<Socket extends object> {
  readonly #options: SubscriptionLimitsOptions;
  readonly #bySocket = new WeakMap<Socket, { readonly sub: string; readonly ids: Set<string> }>();
  readonly #byCaller = new Map<string, number>();

  constructor(options: SubscriptionLimitsOptions) {
    this.#options = options;
  }

  /**
   * @throws AppError TOO_MANY_SUBSCRIPTIONS when the socket or the caller holds its limit already.
   * @throws AppError RATE_LIMITED (details.retryAfterSeconds) when the caller started its minute's allowance already.
   */
  admit(socket: Socket, sub: string, id: string): void {
    const { perSocket, perCaller } = this.#options;
    let open = this.#bySocket.get(socket);
    if (open?.ids.has(id)) return;
    const callerCount = this.#byCaller.get(sub) ?? 0;
    if (perSocket > 0 && (open?.ids.size ?? 0) >= perSocket) {
      throw new AppError(
        'TOO_MANY_SUBSCRIPTIONS',
        `this socket already has ${perSocket} subscriptions open, the most it may; complete one first`,
        {
          details: { limit: perSocket, per: 'socket' },
        },
      );
    }
    if (perCaller > 0 && callerCount >= perCaller) {
      throw new AppError(
        'TOO_MANY_SUBSCRIPTIONS',
        `you already have ${perCaller} subscriptions open on this gateway, the most one caller may`,
        {
          details: { limit: perCaller, per: 'caller' },
        },
      );
    }
    // Last: a subscription refused for another reason does not use up the caller's allowance.
    this.#options.churn?.take(sub);
    if (!open) {
      open = { sub, ids: new Set() };
      this.#bySocket.set(socket, open);
    }
    open.ids.add(id);
    this.#byCaller.set(sub, callerCount + 1);
  }

  /** The subscription ended (completed, failed, or its socket closed). */
  release(socket: Socket, id: string): void {
    const open = this.#bySocket.get(socket);
    if (!open?.ids.delete(id)) return;
    const left = (this.#byCaller.get(open.sub) ?? 1) - 1;
    if (left > 0) this.#byCaller.set(open.sub, left);
    else this.#byCaller.delete(open.sub);
  }

  releaseAll(socket: Socket): void {
    for (const id of [...(this.#bySocket.get(socket)?.ids ?? [])]) this.release(socket, id);
  }

  openFor(sub: string): number {
    return this.#byCaller.get(sub) ?? 0;
  }
}
