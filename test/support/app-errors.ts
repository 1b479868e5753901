import { type AppError, isAppError } from '../../src/errors.js';

/** The AppError `run` throws, or undefined when it returns; anything else is rethrown. */
export function appErrorOf(run: () => unknown): AppError | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (isAppError(error)) return error;
    throw error;
  }
}
