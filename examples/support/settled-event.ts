/** What the examples read of an orderSettled event. */
export interface SettledOrder {
  id: string;
  accountId: string;
  amount: string;
  currency: string;
  product: string;
  reference: string | null;
  settledAt: string;
}

/** The envelope every declared-topic field's event has (CONTRACT.md, `@topic`); the payload field is beside it. */
export interface TopicEvent {
  eventId: string;
  partition: number;
  offset: string;
  /** Resume token: `afterCursor` with it resumes right after this event, with nothing skipped. */
  cursor: string;
}

export interface SettledEvent extends TopicEvent {
  order: SettledOrder;
}

/**
 * What every example keeps besides its own figure: the eventIds it applied, with
 * the ids of the orders they are about. Delivery is at least once; this map is what drops a repeat.
 * (A demo trade-off: it grows with every event. A real system would keep ids
 * for a retention window, or store its figure and the id in one transaction.)
 */
export interface Applied {
  applied: Record<string, string>;
  /** Deliveries, repeats included. */
  delivered: number;
  lastEventAt: string | null;
}

export const noneApplied = (): Applied => ({ applied: {}, delivered: 0, lastEventAt: null });
