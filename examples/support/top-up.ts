import type { TopicEvent } from './settled-event.js';

/**
 * A top-up's final state: what the top-up system publishes (examples/topup.ts, the CloudEvent's `data`) and what the
 * gateway's topupCompleted serves as `topup` (examples/topups.graphql), field for field.
 */
export interface TopUp {
  topupId: string;
  orderId: string;
  accountId: string;
  phone: string;
  /** Minor units, a string of digits. */
  amount: string;
  status: TopUpStatus;
  /** ISO 8601. */
  completedAt: string;
}

export type TopUpStatus = 'DONE' | 'FAILED';

export interface TopUpCompletedEvent extends TopicEvent {
  topup: TopUp;
}

/**
 * The demo operator's rule, used by the top-up system: a number ending in 3, or anything that is not an
 * international number, cannot be topped up. Deterministic, so that a top-up handled again after a crash ends the
 * same way and the demo test knows which ones fail.
 */
export function topUpStatus(phone: string): TopUpStatus {
  return /^\+\d{6,15}$/.test(phone) && !phone.endsWith('3') ? 'DONE' : 'FAILED';
}
