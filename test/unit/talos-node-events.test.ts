// A node's machine events (sandbox/talos/grpc/events.ts) as machined keeps them: a bounded
// backlog a new stream may ask for (tail_events, with_actor_id), then the live events; a
// rebooted node starts with none. talosctl's tracker relies on the replay when it reconnects
// in the middle of a reset (tail -1).
import { describe, expect, it } from 'vitest';
import { EVENT_BACKLOG, NodeEvents, resetStartedEvent, stopAllServicesEvent, type MachineEvent } from '../../sandbox/talos/grpc/events';

const IP = '127.64.9.61';

function collect(events: NodeEvents, tail?: { tailEvents?: number; withActorId?: string }) {
  const seen: MachineEvent[] = [];
  const stop = events.subscribe(IP, (e) => seen.push(e), tail);
  return { seen, stop };
}

describe("a node's machine events", () => {
  it('a stream asking for no tail sees only what happens after it opened', () => {
    const events = new NodeEvents();
    events.publish(IP, [resetStartedEvent('a')]);
    const { seen } = collect(events, { tailEvents: 0 });
    events.publish(IP, [stopAllServicesEvent('a')]);
    expect(seen.map((e) => e.data.type_url)).toEqual(['talos/runtime/machine.TaskEvent']);
  });

  it('a stream opened after a reset ran, asking for every kept event, gets the reset replayed', () => {
    const events = new NodeEvents();
    events.publish(IP, [resetStartedEvent('a'), stopAllServicesEvent('a')]);
    const { seen } = collect(events, { tailEvents: -1 });
    expect(seen.map((e) => e.data.type_url)).toEqual(['talos/runtime/machine.SequenceEvent', 'talos/runtime/machine.TaskEvent']);
  });

  it('tail n replays the last n, then keeps the asked actor’s among them; with_actor_id filters the live ones too', () => {
    const events = new NodeEvents();
    events.publish(IP, [resetStartedEvent('a'), resetStartedEvent('b'), stopAllServicesEvent('a')]);
    expect(collect(events, { tailEvents: 1 }).seen.map((e) => e.actor_id)).toEqual(['a']);
    expect(collect(events, { tailEvents: 2, withActorId: 'b' }).seen.map((e) => e.actor_id)).toEqual(['b']);
    expect(collect(events, { tailEvents: 1, withActorId: 'b' }).seen).toEqual([]);
    const only = collect(events, { tailEvents: -1, withActorId: 'b' });
    events.publish(IP, [stopAllServicesEvent('a'), stopAllServicesEvent('b')]);
    expect(only.seen.map((e) => e.actor_id)).toEqual(['b', 'b']);
  });

  it(`keeps the last ${EVENT_BACKLOG} events, and none once the node has rebooted`, () => {
    const events = new NodeEvents();
    events.publish(IP, Array.from({ length: EVENT_BACKLOG + 5 }, (_, i) => resetStartedEvent(`actor-${i}`)));
    const all = collect(events, { tailEvents: -1 }).seen;
    expect(all).toHaveLength(EVENT_BACKLOG);
    expect(all[0].actor_id).toBe('actor-5');
    events.forget(IP);
    expect(collect(events, { tailEvents: -1 }).seen).toEqual([]);
  });

  it('a stream that closed hears nothing more', () => {
    const events = new NodeEvents();
    const { seen, stop } = collect(events);
    stop();
    events.publish(IP, [stopAllServicesEvent('a')]);
    expect(seen).toEqual([]);
  });
});
