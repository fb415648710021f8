// Resolving secret references (`env:NAME`, `file:/path`) at call time, inside activities.
// The resolved value is handed straight to a client and never returned, logged or put in
// an error: errors name the reference, not its content.
//
// Only what the worker's policy allows is resolved (core/spec/worker-policy.ts): the spec
// store already refuses a spec whose references fall outside its cluster's policy; this is
// the last line, and the one that sees the file's real path (a symlink inside an allowed
// directory pointing out of it is refused).
import { readFile, realpath } from 'node:fs/promises';
import { homedir } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';
import { policyFromEnv, secretRefAllowedForSomeCluster, type WorkerPolicy } from '../core/spec/worker-policy';

export type SecretResolver = (ref: string) => Promise<string>;

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

const outsidePolicy = (ref: string, what: string) =>
  ApplicationFailure.nonRetryable(`secret ${ref}: ${what} is outside what this worker lets specs read (worker settings AUTOK8S_SECRET_ENV_PREFIXES, AUTOK8S_SPEC_PATH_ROOTS)`, 'SecretOutsidePolicy');

/** Resolves refs against the worker's environment and file system, within the worker's policy. */
export function createSecretResolver(env: NodeJS.ProcessEnv = process.env, policy: WorkerPolicy = policyFromEnv(env)): SecretResolver {
  const home = homedir();
  return async (ref) => {
    if (!secretRefAllowedForSomeCluster(ref, policy, home)) {
      if (!ref.startsWith('env:') && !ref.startsWith('file:')) {
        throw ApplicationFailure.nonRetryable('a secret field holds no env:NAME or file:/path reference; fix the spec', 'SecretMissing');
      }
      throw outsidePolicy(ref, ref.startsWith('env:') ? 'the variable' : 'the file');
    }
    if (ref.startsWith('env:')) {
      const name = ref.slice(4);
      const value = env[name];
      if (value === undefined || value === '') {
        throw ApplicationFailure.nonRetryable(`secret ${ref}: environment variable ${name} is not set on the worker; export it where the worker runs`, 'SecretMissing');
      }
      return value;
    }
    const path = expandHome(ref.slice(5));
    let real: string;
    try {
      real = await realpath(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw ApplicationFailure.nonRetryable(`secret ${ref}: cannot read ${path} on the worker (${code})`, 'SecretMissing');
    }
    if (!secretRefAllowedForSomeCluster(`file:${real}`, policy, home)) throw outsidePolicy(ref, `the file's real path ${real}`);
    try {
      return (await readFile(real, 'utf8')).trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw ApplicationFailure.nonRetryable(`secret ${ref}: cannot read ${path} on the worker (${code})`, 'SecretMissing');
    }
  };
}
