// The worker policy of the tests' and benchmarks' workers: every sandbox lives in a fresh
// directory under the system's temporary directory, serves its OVH simulator on loopback and
// numbers its nodes on loopback, and its spec names the pinned real talosctl where it is
// built (sandbox/talos/real-talosctl.ts). That is what these workers allow, and nothing else.
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import type { WorkerPolicy } from '../../core/spec/worker-policy';
import { findPinnedTalosctl } from '../../sandbox/talos/real-talosctl';

const realTalosctl = findPinnedTalosctl();
const roots = [tmpdir(), ...('path' in realTalosctl ? [dirname(realTalosctl.path)] : [])];

export const SANDBOXES_POLICY: WorkerPolicy = { secretEnvPrefixes: [], pathRoots: roots, ovhEndpoints: ['https://localhost:*', 'https://127.0.0.1:*'], nodeNetwork: 'loopback' };

/**
 * The namespace tier's workers: their specs number the nodes from a private range that exists
 * only inside the network namespaces the test creates (test/helpers/keepalived-sandbox.ts,
 * sandbox/netns), so a worker there takes a private network, as a worker for real servers does.
 */
export const NAMESPACE_LAB_POLICY: WorkerPolicy = { ...SANDBOXES_POLICY, nodeNetwork: 'private' };

/** The same policy as worker environment settings, for a worker in a child process. */
export const SANDBOXES_POLICY_ENV = { AUTOK8S_SECRET_ENV_PREFIXES: '', AUTOK8S_SPEC_PATH_ROOTS: roots.join(','), AUTOK8S_OVH_ENDPOINTS: 'https://localhost:*,https://127.0.0.1:*', AUTOK8S_NODE_NETWORK: 'loopback' };

/** For tests of one provider's adapter, where the policy is not what is under test. */
export const ANYTHING_POLICY: WorkerPolicy = { secretEnvPrefixes: [''], pathRoots: ['/'], ovhEndpoints: ['https://localhost:*', 'https://127.0.0.1:*'], nodeNetwork: 'loopback' };
