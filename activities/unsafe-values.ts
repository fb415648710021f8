// An activity that meets a spec value outside its grammar (core/spec/grammar.ts) fails for
// good: the same input would be refused again on every retry, so retrying only delays the
// message the operator needs. The workflow sees a non-retryable UnsafeValue failure that
// names the field.
import { ApplicationFailure } from '@temporalio/common';
import { UnsafeValueError } from '../core/spec/grammar';

type AnyActivity = (...args: never[]) => Promise<unknown>;

export function refusingUnsafeValues<T extends Record<string, AnyActivity>>(activities: T): T {
  const wrapped: Record<string, AnyActivity> = {};
  for (const [name, activity] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await activity(...args);
      } catch (err) {
        if (err instanceof UnsafeValueError) throw ApplicationFailure.nonRetryable(err.message, 'UnsafeValue', { field: err.field });
        throw err;
      }
    };
  }
  return wrapped as T;
}
