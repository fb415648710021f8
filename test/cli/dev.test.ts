// `autok8s dev` and the README's quick start: dev server, sandbox and worker come up; a
// second terminal moves the failover IP with the exports dev printed (payloads encrypted
// with dev's keyring); Ctrl-C stops everything. Started again on the same directory, dev
// keeps its keyring, so the earlier run still reads back. A second dev on a directory in
// use is refused.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../client/dev/dev-server';
import { payloadDataConverter } from '../../codec/data-converter';
import type { FailoverIpResult } from '../../workflows/failover-ip';
import { ROOT } from '../helpers/paths';
import { runAutok8s } from '../helpers/cli';

interface DevUp {
  temporalAddress: string;
  webUi: string;
  specFile: string;
  payloadKeys: string;
  codecServer: string;
  talosctl: string[];
}

function startDev(dir: string, port: number, uiPort: number, env: NodeJS.ProcessEnv = {}): { child: ChildProcess; up: Promise<DevUp>; stopped: Promise<number | null>; stderr: () => string } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'autok8s.js'), 'dev', '--dir', dir, '--port', String(port), '--ui-port', String(uiPort), '--output', 'json'], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const stopped = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const up = new Promise<DevUp>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      try {
        resolve(JSON.parse(out) as DevUp);
      } catch {
        // not the whole document yet
      }
    });
    void stopped.then((code) => reject(new Error(`autok8s dev exited ${code} before it was up: ${out}${err}`)));
  });
  return { child, up, stopped, stderr: () => err };
}

const autok8s = (args: string[], env: NodeJS.ProcessEnv = {}) => runAutok8s(args, env, 90_000);

describe('autok8s dev', () => {
  it('comes up, serves the quick start with its exports, stops on Ctrl-C, and keeps its keyring across restarts', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ak8s-dev-')), 'dev');
    const [port, uiPort] = [await freePort(), await freePort()];
    // The fallback client, as on a machine where the real talosctl is not built (the demo test runs the real one).
    const first = startDev(dir, port, uiPort, { AUTOK8S_SANDBOX_TALOSCTL: 'fallback' });
    const up = await first.up;
    expect(up).toMatchObject({ temporalAddress: `127.0.0.1:${port}`, webUi: `http://localhost:${uiPort}`, specFile: join(dir, 'sandbox', 'cluster.yaml'), payloadKeys: join(dir, 'payload-keys') });
    // It says which talosctl its worker runs, and how to get the real one.
    expect(up.talosctl[0]).toBe(`talosctl: ${join(dir, 'sandbox', 'bin', 'talosctl')} (the sandbox's fallback client, which speaks the Talos API over gRPC like talosctl; named by the spec's talos.talosctl)`);
    expect(up.talosctl[1]).toMatch(/^talosctl: the real talosctl v1\.10\.0 (is built at \/|is not built here; `npm run install-talosctl` builds it)/);
    const keyring = readFileSync(up.payloadKeys, 'utf8');

    // A second dev on the same directory (other ports) would share the database: refused, before it starts anything.
    const [otherPort, otherUiPort] = [await freePort(), await freePort()];
    const twin = await autok8s(['dev', '--dir', dir, '--port', String(otherPort), '--ui-port', String(otherUiPort)], {});
    expect(twin.code).toBe(2);
    expect(twin.stderr).toContain(`${dir} is in use by autok8s dev (pid ${first.child.pid})`);

    // The README's second terminal.
    const env = { TEMPORAL_ADDRESS: up.temporalAddress, AUTOK8S_PAYLOAD_KEYS: up.payloadKeys };
    const booted = await autok8s(['bootstrap', '-f', up.specFile, '--wait', '--output', 'json'], env);
    expect(booted.code, booted.stderr).toBe(0);
    // srv-a's keepalived (the MASTER since bootstrap started it) stops: srv-b takes over, and its
    // notify_master, run by dev's keepalived wiring, raises its public link and moves the IP.
    const stopped = await autok8s(['sandbox', 'hook', 'keepalived-stop', 'srv-a', '--dir', join(dir, 'sandbox')], env);
    expect(stopped.code, stopped.stderr).toBe(0);
    const moved = await waitForFailover(up.temporalAddress, up.payloadKeys, (r) => r.to === 'srv-b' && r.moved);
    expect(moved).toMatchObject({ ip: '203.0.113.10', to: 'srv-b', moved: true, reason: 'keepalived', serving: { served: true, by: 'srv-b' } });

    first.child.kill('SIGINT');
    expect(await first.stopped, first.stderr()).toBe(0);
    expect(existsSync(`${dir}.lock`)).toBe(false); // let go on the way out
    await expect(fetch(`${up.codecServer}/decode`, { method: 'POST', body: '{"payloads":[]}' })).rejects.toThrow(); // the codec server is down too

    // Same directory again: the same keyring, and the run recorded before reads back through it.
    // If it fails to come up, `up` rejects with its output: that is the error to see, not
    // the exit status a `finally` would assert on a process that is already gone.
    const second = startDev(dir, port, uiPort);
    const again = await second.up;
    try {
      expect(readFileSync(again.payloadKeys, 'utf8')).toBe(keyring);
      const client = new Client({ connection: await Connection.connect({ address: again.temporalAddress }), dataConverter: payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: again.payloadKeys }) });
      try {
        const result = (await client.workflow.getHandle('sandbox/failover/203.0.113.10', moved.runId).result()) as FailoverIpResult;
        expect(result).toMatchObject({ to: 'srv-b', moved: true });
      } finally {
        await client.connection.close();
      }
    } finally {
      second.child.kill('SIGINT');
      expect(await second.stopped, second.stderr()).toBe(0);
    }
  }, 240_000);

  it('on a taken port, says which and exits, leaving nothing running and the directory free', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'ak8s-dev-')), 'dev');
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const r = await autok8s(['dev', '--dir', dir, '--port', String(port), '--ui-port', String(await freePort())], {});
      expect(r.signal, 'it must exit by itself, not hang with parts still up').toBeNull();
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Port ${port} is taken`);
      expect(existsSync(`${dir}.lock`)).toBe(false);
    } finally {
      holder.close();
    }
  }, 120_000);
});

/** Waits (bounded) for a failoverIp run of the sandbox's IP whose result satisfies `done`; returns it with its run ID. */
async function waitForFailover(address: string, keys: string, done: (r: FailoverIpResult) => boolean): Promise<FailoverIpResult & { runId: string }> {
  const client = new Client({ connection: await Connection.connect({ address }), dataConverter: payloadDataConverter({ AUTOK8S_PAYLOAD_KEYS: keys }) });
  try {
    const deadline = Date.now() + 90_000;
    for (;;) {
      for await (const run of client.workflow.list({ query: `WorkflowId = 'sandbox/failover/203.0.113.10' AND ExecutionStatus = 'Completed'` })) {
        const result = (await client.workflow.getHandle(run.workflowId, run.runId).result()) as FailoverIpResult;
        if (done(result)) return { ...result, runId: run.runId };
      }
      if (Date.now() > deadline) throw new Error('no failover run of 203.0.113.10 to srv-b completed within 90 s');
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    await client.connection.close();
  }
}
