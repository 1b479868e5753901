/** Milliseconds on the machine's monotonic clock: comparable between processes, unlike `performance.now()`. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;
