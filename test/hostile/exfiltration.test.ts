// A spec that points OVH and Proxmox at a listener of the attacker's, and names secrets the
// worker's policy does not hand out (another variable of the environment, a file of the
// system): `plan` and `status` (read-only, run where the operator's secrets are) and `apply`
// (checked by a worker) refuse it before any connection is made. The listener hears nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ClusterSpec } from '../../core/spec/schema';
import { startSandbox, type Sandbox } from '../../sandbox';
import { runAutok8s } from '../helpers/cli';
import { SANDBOXES_POLICY_ENV } from '../helpers/policy';
import { connect, startInProcessWorker, temporalAddress, uniqueQueue, type RunningWorker } from '../helpers/temporal';

let box: Sandbox;
let listener: Server;
let port: number;
let connections = 0;
let client: Client;
let worker: RunningWorker;
let queue: string;
let specFile: string;

beforeAll(async () => {
  box = await startSandbox({ dir: mkdtempSync(join(tmpdir(), 'ak8s-exfil-')), clusterName: 'exfil' });
  listener = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  port = (listener.address() as { port: number }).port;
  const attacker = `https://127.0.0.1:${port}`;
  const spec: ClusterSpec = structuredClone(box.spec);
  spec.ovh = { ...spec.ovh, endpoint: `${attacker}/1.0`, applicationKey: 'env:AUTOK8S_SANDBOX_UNRELATED', applicationSecret: 'file:/etc/hostname', consumerKey: spec.ovh.consumerKey };
  spec.servers = spec.servers.map((s) => ({ ...s, proxmox: { ...s.proxmox, url: attacker, tokenSecret: 'env:HOME' } }));
  specFile = join(box.dir, 'attacker.yaml');
  writeFileSync(specFile, stringify(spec));
  client = await connect();
  queue = uniqueQueue('exfil');
  worker = await startInProcessWorker(queue);
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await new Promise((resolve) => listener?.close(resolve));
  await box?.stop();
});

describe('a spec that would send secrets to a listener', () => {
  const env = () => ({ AUTOK8S_SANDBOX_UNRELATED: 'not-for-specs', TEMPORAL_ADDRESS: temporalAddress(), AUTOK8S_TASK_QUEUE: queue });

  it.each([['plan'], ['status']])('autok8s %s refuses it with the default policy, naming each field, before any connection', async (command) => {
    const run = await runAutok8s([command, '-f', specFile], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ovh\.endpoint: https:\/\/127\.0\.0\.1:\d+\/1\.0 is not one of OVH's API regions/);
    expect(run.stderr).toMatch(/ovh\.applicationKey: environment variable AUTOK8S_SANDBOX_UNRELATED/);
    expect(run.stderr).toMatch(/servers\[0\]\.proxmox\.tokenSecret: environment variable HOME/);
    expect(run.stderr).not.toContain('not-for-specs');
    expect(connections).toBe(0);
  });

  it('autok8s plan still refuses it on a machine whose policy allows the endpoint, for the secrets', async () => {
    const run = await runAutok8s(['plan', '-f', specFile], { ...env(), ...SANDBOXES_POLICY_ENV });
    expect(run.code).toBe(2);
    expect(run.stderr).not.toMatch(/ovh\.endpoint/);
    expect(run.stderr).toMatch(/ovh\.applicationSecret: \/etc\/hostname is outside the directories/);
    expect(connections).toBe(0);
  });

  it('autok8s apply: the worker refuses it, the store keeps nothing, and the listener hears nothing', async () => {
    const run = await runAutok8s(['apply', '-f', specFile], env());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/the spec store of exfil refused the spec: .*reaches outside what this worker allows/s);
    expect(run.stderr).toMatch(/servers\[2\]\.proxmox\.tokenSecret: environment variable HOME/);
    const kept = await client.workflow.getHandle('exfil/spec').query<unknown>('spec');
    expect(kept).toBeUndefined();
    expect(connections).toBe(0);
  });
});
