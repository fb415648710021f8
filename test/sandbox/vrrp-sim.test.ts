// keepalived's VRRP election as the sandbox plays it (sandbox/vrrp-sim.ts), with a short
// advert interval so the cases run quickly: who becomes MASTER, what a stop, a failing HAProxy
// check and a deaf BACKUP (the split brain of keepalived issues #100/#950) do, and which
// notify scripts each transition runs, in order.
import { afterEach, describe, expect, it } from 'vitest';
import { VrrpSimulation, type VrrpEvent } from '../../sandbox/vrrp-sim';
import { waitUntil } from '../helpers/temporal';

const ADVERT_MS = 40;
let sim: VrrpSimulation | undefined;
afterEach(() => sim?.close());

function start(haproxy: Record<string, boolean> = {}) {
  const notified: string[] = [];
  const holds = new Map<string, boolean>();
  sim = new VrrpSimulation({
    members: [
      { server: 'srv-a', priority: 200 },
      { server: 'srv-b', priority: 190 },
      { server: 'srv-c', priority: 180 },
    ],
    advertIntMs: ADVERT_MS,
    haproxyAnswers: async (server) => haproxy[server] ?? true,
    onHold: (server, on) => holds.set(server, on),
  });
  sim.onNotify(async (server: string, event: VrrpEvent) => {
    notified.push(`${server} ${event}`);
  });
  return { sim, notified, holds };
}

const masterIs = (s: VrrpSimulation, server: string) => waitUntil(`${server} is the only MASTER`, () => s.holders().join() === server, 10_000, 10);

describe('the simulated keepalived', () => {
  it('elects the highest priority after the master-down interval; the others stay BACKUP', async () => {
    const { sim, holds } = start();
    expect(sim.holders()).toEqual([]); // not instant: every instance starts as BACKUP
    await masterIs(sim, 'srv-a');
    expect(['srv-b', 'srv-c'].map((s) => sim.state(s))).toEqual(['BACKUP', 'BACKUP']);
    expect([...holds.entries()].filter(([, on]) => on).map(([s]) => s)).toEqual(['srv-a']);
  });

  it('stopping the MASTER\'s keepalived runs its notify_stop and makes the next priority MASTER, which runs notify_master', async () => {
    const { sim, notified } = start();
    await masterIs(sim, 'srv-a');
    notified.length = 0;
    sim.stop('srv-a');
    await masterIs(sim, 'srv-b');
    await sim.settled();
    expect(notified).toEqual(['srv-a stop', 'srv-b master']);
    expect(sim.state('srv-a')).toBe('STOPPED');
  });

  it('nopreempt: a higher priority started again stays BACKUP under the MASTER it finds', async () => {
    const { sim } = start();
    await masterIs(sim, 'srv-a');
    sim.stop('srv-a');
    await masterIs(sim, 'srv-b');
    sim.start('srv-a');
    await new Promise((r) => setTimeout(r, ADVERT_MS * 6));
    expect([sim.state('srv-a'), sim.holders()]).toEqual(['BACKUP', ['srv-b']]);
  });

  it('a failing HAProxy check puts the MASTER in FAULT (notify_fault) and the next LB takes over', async () => {
    const haproxy: Record<string, boolean> = {};
    const { sim, notified } = start(haproxy);
    await masterIs(sim, 'srv-a');
    notified.length = 0;
    haproxy['srv-a'] = false;
    await masterIs(sim, 'srv-b');
    await sim.settled();
    expect(sim.state('srv-a')).toBe('FAULT');
    expect(notified).toEqual(['srv-a fault', 'srv-b master']);
  });

  it('a BACKUP that hears no advert becomes MASTER beside the real one, then steps down; the real MASTER never notifies again', async () => {
    const { sim, notified } = start();
    await masterIs(sim, 'srv-a');
    notified.length = 0;
    sim.isolate('srv-b', ADVERT_MS * 8);
    await waitUntil('two MASTERs', () => sim.holders().length === 2, 10_000, 5);
    expect(sim.holders()).toEqual(['srv-b', 'srv-a']);
    await masterIs(sim, 'srv-a');
    await sim.settled();
    expect(notified).toEqual(['srv-b master', 'srv-b backup']);
  });
});
