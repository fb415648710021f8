// How the CLI ends: 0 ok, 1 the operation failed, 2 bad input (nothing was started).
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_BAD_INPUT = 2;

/** Bad input from the command line: the message names the flag or value and what to do. */
export class UsageError extends Error {
  override name = 'UsageError';
}
