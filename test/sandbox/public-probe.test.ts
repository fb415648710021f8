// probePublicIp (activities/probe/public-probe.ts) against a loopback stand-in of the public
// side that drops the first requests as an unroutable IP does (the socket closed, no answer):
// it keeps trying within its bound with heartbeats, reports "not served" as an answer, stops
// when cancelled, and skips when the spec names no probe.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { probePublicIp } from '../../activities/probe/public-probe';
import { SERVED_BY_HEADER } from '../../core/public-path/probe-url';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { ROOT } from '../helpers/paths';

const IP = '203.0.113.10';
const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
let server: Server;
let dropFirst = 0;
const seen: string[] = [];

const specWithProbe = (): ClusterSpec => ({ ...fixture, publicPath: { ...fixture.publicPath!, probeUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/{ip}/healthz` } });

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.url ?? '');
    if (dropFirst > 0) {
      dropFirst -= 1;
      req.socket.destroy();
      return;
    }
    res.writeHead(404, { [SERVED_BY_HEADER]: 'srv-b' });
    res.end('no such page\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  seen.length = 0;
  dropFirst = 0;
});

describe('probePublicIp', () => {
  it('keeps trying while the IP is dropped, heartbeating, and takes any HTTP answer as served', async () => {
    dropFirst = 3;
    const env = new MockActivityEnvironment();
    const beats: unknown[] = [];
    env.on('heartbeat', (d: unknown) => beats.push(d));
    const result = await env.run(() => probePublicIp(specWithProbe(), IP, { untilServedMs: 20_000, intervalMs: 20 }));
    expect(result).toMatchObject({ served: true, status: 404, servedBy: 'srv-b', tries: 4 });
    expect(seen).toEqual(Array.from({ length: 4 }, () => `/${IP}/healthz`));
    expect(beats.length).toBeGreaterThan(0);
  });

  it('answers "not served" with the last error once its bound is out', async () => {
    dropFirst = 1000;
    const result = await probePublicIp(specWithProbe(), IP, { untilServedMs: 200, intervalMs: 20 });
    expect(result.served).toBe(false);
    expect(result.detail).toMatch(/\/203\.0\.113\.10\/healthz did not answer \(closed without an answer\) after \d+ tries/);
    expect(result.tries).toBeGreaterThan(1);
  });

  it('tries once by default (a noop run\'s look)', async () => {
    dropFirst = 1000;
    expect(await probePublicIp(specWithProbe(), IP)).toMatchObject({ served: false, tries: 1 });
  });

  it('stops when the activity is cancelled', async () => {
    dropFirst = 1000;
    const env = new MockActivityEnvironment();
    env.on('heartbeat', () => env.cancel());
    await expect(env.run(() => probePublicIp(specWithProbe(), IP, { untilServedMs: 60_000, intervalMs: 20 }))).rejects.toBeInstanceOf(CancelledFailure);
    expect(seen.length).toBeLessThan(5);
  });

  it('does not probe at all when the spec names no publicPath.probeUrl', async () => {
    expect(await probePublicIp(fixture, IP, { untilServedMs: 1000 })).toEqual({ served: false, detail: 'no publicPath.probeUrl: serving not verified', tries: 0 });
    expect(seen).toEqual([]);
  });
});
