// One Temporal dev server for the whole test run (real server, not a mock); each test
// file uses its own task queue. Its address reaches tests through `inject('temporalAddress')`.
import type { TestProject } from 'vitest/node';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer, type DevServer } from '../client/dev/dev-server';
import { describeSchemaTallies, readSchemaTallies } from '../sandbox/conformance/tally';

let server: DevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Test files (forks) and the processes they start inherit this: each simulator's
  // schema checks are summed at the end of the run (sandbox/conformance/tally.ts).
  process.env.AUTOK8S_SCHEMA_TALLY_DIR ??= mkdtempSync(join(tmpdir(), 'autok8s-schema-tally-'));
  server = await startDevServer({
    uiPort: false,
    // Every test file's workers are one Worker Deployment Version (worker/deployment.ts),
    // each on task queues of its own; the server refuses a version's polls on more than 100.
    dynamicConfig: { 'matching.maxTaskQueuesInDeploymentVersion': 1000 },
    log: (l) => console.log(`[temporal-cli] ${l}`),
  });
  project.provide('temporalAddress', server.address);
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
