// Reading and validating a spec file on the worker (for `temporal workflow start` with
// `specFile`): a spec that fails validation is bad input, never retried.
import { ApplicationFailure } from '@temporalio/common';
import { loadSpecFile, SpecError } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';

export function createSpecActivities() {
  return {
    async loadSpec(file: string): Promise<ClusterSpec> {
      try {
        return loadSpecFile(file);
      } catch (err) {
        if (err instanceof SpecError) throw ApplicationFailure.nonRetryable(err.message, 'BadSpec');
        throw err;
      }
    },
  };
}
