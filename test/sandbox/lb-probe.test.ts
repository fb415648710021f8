// probeLbsHealth (activities/probe/lb-probe.ts): a failover probes all of a cluster's LBs in one
// activity. Against loopback stand-ins of HAProxy's monitor-uri: one answering 200, one 503,
// one port with nothing listening. Every LB gets its own answer, in the servers' order, and an
// unhealthy or unreachable LB is an answer, never a failure of the others.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeLbsHealth } from '../../activities/probe/lb-probe';
import { decideFailoverTarget } from '../../core/policies/failover-target';
import { loadSpecFile } from '../../core/spec/load';
import type { ServerSpec } from '../../core/spec/schema';
import { ROOT } from '../helpers/paths';

const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
let healthy: Server;
let failing: Server;
let closedPort: number;

const listen = (status: number) =>
  new Promise<Server>((resolve) => {
    const s = createServer((_req, res) => {
      res.writeHead(status);
      res.end();
    });
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
const portOf = (s: Server) => (s.address() as AddressInfo).port;
const close = (s: Server | undefined) => new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));

beforeAll(async () => {
  healthy = await listen(200);
  failing = await listen(503);
  // A port that was just free: nothing listens there once its server is closed.
  const gone = await listen(200);
  closedPort = portOf(gone);
  await close(gone);
});

afterAll(async () => {
  await close(healthy);
  await close(failing);
});

/** The fixture's servers, their LB health URLs on the stand-ins: srv-a down, srv-b 503, srv-c 200. */
const servers = (): ServerSpec[] => {
  const ports = [closedPort, portOf(failing), portOf(healthy)];
  return fixture.servers.map((s, i) => ({ ...s, lbHealthUrl: `http://127.0.0.1:${ports[i]}/healthz` }));
};

describe('probeLbsHealth', () => {
  it('answers for every LB in the servers order: unreachable, 503 and 200 each as they are', async () => {
    const probes = await probeLbsHealth(servers(), 1000);
    expect(probes.map((p) => [p.server, p.healthy])).toEqual([
      [fixture.servers[0].name, false],
      [fixture.servers[1].name, false],
      [fixture.servers[2].name, true],
    ]);
    expect(probes[0].detail).toMatch(/unreachable \(ECONNREFUSED\)/);
    expect(probes[1].detail).toMatch(/answered 503$/);
    expect(probes[2].detail).toMatch(/answered 200 in \d+ ms$/);
  });

  it('feeds decideFailoverTarget as the per-LB probes did: the only healthy LB is the target', async () => {
    const all = servers();
    const decision = decideFailoverTarget({ servers: all, routedToService: all[0].ovhService, probes: await probeLbsHealth(all, 1000) });
    expect(decision).toMatchObject({ kind: 'move', to: all[2].name });
  });

  it('with no servers, answers nothing', async () => {
    expect(await probeLbsHealth([])).toEqual([]);
  });
});
