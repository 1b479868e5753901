import type { ConsumerConfig } from 'kafkajs';

/** How often a subscription's consumer heartbeats, also while a slow subscriber holds a batch. */
export const HEARTBEAT_INTERVAL_MS = 1_000;

/**
 * Settings of every subscription's consumer: it joins fast (the broker should
 * run with group.initial.rebalance.delay.ms=0), notices a rebalance within
 * about a second, and waits at most 200 ms on an empty fetch, which bounds how
 * long leaving takes. One fetch holds at most 1 MiB.
 */
export const SUBSCRIPTION_CONSUMER_SETTINGS: Omit<ConsumerConfig, 'groupId'> = {
  sessionTimeout: 10_000,
  rebalanceTimeout: 10_000,
  heartbeatInterval: HEARTBEAT_INTERVAL_MS,
  maxWaitTimeInMs: 200,
  maxBytesPerPartition: 256 * 1024,
  maxBytes: 1024 * 1024,
  allowAutoTopicCreation: false,
};
