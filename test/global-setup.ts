// One Temporal dev server for the whole test run (real server, not a mock); each test
// file uses its own task queue. Its address reaches tests through `inject('temporalAddress')`.
import type { TestProject } from 'vitest/node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../client/dev/dev-server';
import { describeSchemaTallies, readSchemaTallies } from '../sandbox/conformance/tally';
import { inCi } from './helpers/prerequisites';
import { findGo, installTalosctl } from '../client/dev/install-talosctl';
import { cachedTalosctl } from '../activities/talos/talosctl-cache';
import { PINNED_TALOS_VERSION } from '../core/talos/talosctl-pin';

let server: DevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Test files (forks) and the processes they start inherit this: each simulator's
  // schema checks are summed at the end of the run (sandbox/conformance/tally.ts).
  process.env.AUTOK8S_SCHEMA_TALLY_DIR ??= mkdtempSync(join(tmpdir(), 'autok8s-schema-tally-'));
  await ensureRealTalosctl((l) => console.log(`[talosctl] ${l}`));
  // Every sandbox runs the real talosctl when it is built; in CI it must be (.ci/run builds it),
  // so there a sandbox without it fails instead of quietly taking the fallback client.
  if (inCi() && !process.env.AUTOK8S_SANDBOX_TALOSCTL) process.env.AUTOK8S_SANDBOX_TALOSCTL = 'real';
  console.log(`[talosctl] sandboxes run ${process.env.AUTOK8S_SANDBOX_TALOSCTL ?? 'auto (the real talosctl when built, else the fallback client)'}`);
  server = await startDevServer({
    uiPort: false,
    // Every test file's workers are one Worker Deployment Version (worker/deployment.ts),
    // each on task queues of its own; the server refuses a version's polls on more than 100.
    dynamicConfig: { 'matching.maxTaskQueuesInDeploymentVersion': 1000 },
    log: (l) => console.log(`[temporal-cli] ${l}`),
  });
  project.provide('temporalAddress', server.address);
}

/**
 * The pinned real talosctl for the tiers that run it (test/helpers/real-talosctl.ts): kept when
 * the machine's cache has it (one `talosctl version --client`), built when Go is there (minutes,
 * once per machine), else the reason those tiers skip.
 */
async function ensureRealTalosctl(log: (line: string) => void): Promise<void> {
  const cached = cachedTalosctl(PINNED_TALOS_VERSION);
  if (process.env.AUTOK8S_TALOSCTL_BUILD === 'off') {
    log(cached ? `${cached.binary} used as it is (AUTOK8S_TALOSCTL_BUILD=off)` : `not building talosctl ${PINNED_TALOS_VERSION} (AUTOK8S_TALOSCTL_BUILD=off): the real-talosctl tiers skip`);
    return;
  }
  if (!cached && !findGo()) {
    log(`no talosctl ${PINNED_TALOS_VERSION} in the cache and no Go to build it: the real-talosctl tiers skip (install Go, then \`npm run install-talosctl\`)`);
    return;
  }
  try {
    const { entry, made } = await installTalosctl({ log });
    if (made.length > 0) log(`made ${made.join(', ')} in ${entry.dir}`);
  } catch (err) {
    log(`talosctl ${PINNED_TALOS_VERSION} could not be installed, the real-talosctl tiers skip: ${(err as Error).message}`);
  }
}

export async function teardown(): Promise<void> {
  await server?.stop();
  const dir = process.env.AUTOK8S_SCHEMA_TALLY_DIR;
  if (dir) for (const line of describeSchemaTallies(readSchemaTallies(dir))) console.log(line);
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}
