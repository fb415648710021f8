// deploy/temporal/init-namespace.sh (the compose `temporal-init` job, and the way to
// prepare a production namespace) run for real with the Temporal CLI against the suite's
// Temporal dev server, on a namespace of its own. Read back through the gRPC API.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findTemporalCli } from '../../client/dev/find-temporal-cli';
import { SEARCH_ATTRIBUTES } from '../../core/search-attributes';
import { ROOT, temporalAddress } from '../helpers/temporal';

const SCRIPT = join(ROOT, 'deploy', 'temporal', 'init-namespace.sh');
const namespace = `autok8s-init-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
let connection: Connection;
let cli: string;

function runScript(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      [SCRIPT],
      {
        timeout: 90_000,
        env: { PATH: process.env.PATH ?? '', TEMPORAL_CLI: cli, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: namespace, TEMPORAL_WAIT_SECONDS: '0.5', ...env },
      },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

async function customAttributes(): Promise<Record<string, unknown>> {
  const answer = await connection.operatorService.listSearchAttributes({ namespace });
  return answer.customAttributes ?? {};
}

beforeAll(async () => {
  cli = findTemporalCli({ allowInstall: false }).path;
  connection = await Connection.connect({ address: temporalAddress() });
});

afterAll(async () => {
  await connection?.close();
});

describe('deploy/temporal/init-namespace.sh', () => {
  it('creates the namespace and registers every autok8s search attribute as Keyword', async () => {
    const { code, output } = await runScript({});
    expect(output).toContain(`creating namespace ${namespace}`);
    expect(code, output).toBe(0);
    const attributes = await customAttributes();
    for (const key of SEARCH_ATTRIBUTES) {
      // IndexedValueType 2 is INDEXED_VALUE_TYPE_KEYWORD.
      expect(attributes[key.name], `${key.name} on ${namespace}`).toBe(2);
    }
  });

  it('is safe to run again: it finds everything in place and changes nothing', async () => {
    const before = await customAttributes();
    const { code, output } = await runScript({});
    expect(code, output).toBe(0);
    expect(output).toContain(`namespace ${namespace} exists`);
    for (const key of SEARCH_ATTRIBUTES) expect(output).toContain(`search attribute ${key.name} (Keyword) is already registered`);
    expect(output).not.toContain('registering');
    expect(await customAttributes()).toEqual(before);
  });

  it('refuses, with the way out, when an attribute exists with another type', async () => {
    const { code, output } = await runScript({ AUTOK8S_SEARCH_ATTRIBUTES: 'AutoK8sCluster=Text' });
    expect(code).toBe(1);
    expect(output).toMatch(/AutoK8sCluster is registered on \S+ as Keyword, not Text; .*use another namespace/);
  });

  it('rejects a malformed attribute list before touching anything', async () => {
    const { code, output } = await runScript({ AUTOK8S_SEARCH_ATTRIBUTES: 'AutoK8sZone' });
    expect(code).toBe(2);
    expect(output).toContain('bad entry "AutoK8sZone"');
    expect(output).not.toContain('waiting for the Temporal server');
    expect(await customAttributes()).not.toHaveProperty('AutoK8sZone');
  });

  it('gives up with the server\'s words when Temporal is unreachable, after a bounded number of tries', async () => {
    const { code, output } = await runScript({ TEMPORAL_ADDRESS: '127.0.0.1:1', TEMPORAL_WAIT_ATTEMPTS: '2', TEMPORAL_WAIT_SECONDS: '0' });
    expect(code).toBe(1);
    expect(output).toMatch(/giving up: the server at 127\.0\.0\.1:1 did not report SERVING after 2 tries/);
  });
});
