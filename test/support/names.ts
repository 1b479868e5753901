import { randomBytes } from 'node:crypto';

/** A short unique suffix for topic, group and database names. */
export const uniqueName = (prefix: string): string => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
