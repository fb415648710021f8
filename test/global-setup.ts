// One Temporal dev server for the whole test run (real server, not a mock); each test
// file uses its own task queue. Its address reaches tests through `inject('temporalAddress')`.
import type { TestProject } from 'vitest/node';
import { startDevServer, type DevServer } from '../client/dev/dev-server';

let server: DevServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  server = await startDevServer({ uiPort: false, log: (l) => console.log(`[temporal-cli] ${l}`) });
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
