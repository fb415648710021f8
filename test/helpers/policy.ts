// The worker policy of the tests' and benchmarks' workers: every sandbox lives in a fresh
// directory under the system's temporary directory and serves its OVH simulator on
// loopback, so that is what these workers allow, and nothing else.
import { tmpdir } from 'node:os';
import type { WorkerPolicy } from '../../core/spec/worker-policy';

export const SANDBOXES_POLICY: WorkerPolicy = { secretEnvPrefixes: [], pathRoots: [tmpdir()], ovhEndpoints: ['https://localhost:*', 'https://127.0.0.1:*'] };

/** The same policy as worker environment settings, for a worker in a child process. */
export const SANDBOXES_POLICY_ENV = { AUTOK8S_SECRET_ENV_PREFIXES: '', AUTOK8S_SPEC_PATH_ROOTS: tmpdir(), AUTOK8S_OVH_ENDPOINTS: 'https://localhost:*,https://127.0.0.1:*' };

/** For tests of one provider's adapter, where the policy is not what is under test. */
export const ANYTHING_POLICY: WorkerPolicy = { secretEnvPrefixes: [''], pathRoots: ['/'], ovhEndpoints: ['https://localhost:*', 'https://127.0.0.1:*'] };
