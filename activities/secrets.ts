// Resolving secret references (`env:NAME`, `file:/path`) at call time, inside activities.
// The resolved value is handed straight to a client and never returned, logged or put in
// an error: errors name the reference, not its content.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { ApplicationFailure } from '@temporalio/common';

export type SecretResolver = (ref: string) => Promise<string>;

export function expandHome(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

/** Resolves refs against the worker's environment and file system. */
export function createSecretResolver(env: NodeJS.ProcessEnv = process.env): SecretResolver {
  return async (ref) => {
    if (ref.startsWith('env:')) {
      const name = ref.slice(4);
      const value = env[name];
      if (value === undefined || value === '') {
        throw ApplicationFailure.nonRetryable(`secret ${ref}: environment variable ${name} is not set on the worker; export it where the worker runs`, 'SecretMissing');
      }
      return value;
    }
    if (ref.startsWith('file:')) {
      const path = expandHome(ref.slice(5));
      try {
        return (await readFile(path, 'utf8')).trim();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'error';
        throw ApplicationFailure.nonRetryable(`secret ${ref}: cannot read ${path} on the worker (${code})`, 'SecretMissing');
      }
    }
    throw ApplicationFailure.nonRetryable("a secret field holds no env:NAME or file:/path reference; fix the spec", "SecretMissing");
  };
}
