// One Temporal dev server for the whole test run (real server, not a mock); each test
// file uses its own task queue. Its address reaches tests through `inject('temporalAddress')`.
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../client/dev/dev-server';

let server: DevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
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
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
  }
}
