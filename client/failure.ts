// The message a person needs from a failed workflow: the innermost cause (the activity's
// ApplicationFailure, e.g. OVH's own words), not "Activity task failed".
export function rootCauseMessage(err: unknown): string {
  let current = err as { message?: string; cause?: unknown } | undefined;
  let message = current?.message ?? String(err);
  while (current?.cause) {
    current = current.cause as { message?: string; cause?: unknown };
    if (current.message) message = current.message;
  }
  return message;
}
