// The machine event stream (`/machine.MachineService/Events`) as far as talosctl follows it:
// `reset --wait` (without --reboot) watches a node's events until the task
// "stopAllServices" starts (cmd/talosctl/pkg/talos/action/tracker.go StopAllServicesEventFn).
// Events are machine.Event{data: Any("talos/runtime/machine.<Type>"), id, actor_id}, preceded
// on each stream by an empty "hello" event (v1alpha1_server.go Events, sendEmptyEvent).
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';
import 'protobufjs/ext/descriptor';
import { DEFAULT_TALOS_API_VERSION, talosApiDescriptorPaths } from './descriptors';

export interface MachineEvent {
  data: { type_url: string; value: Buffer };
  id: string;
  actor_id: string;
}

let root: protobuf.Root | undefined;
function talosRoot(): protobuf.Root {
  root ??= (protobuf.Root as unknown as { fromDescriptor(b: Buffer): protobuf.Root }).fromDescriptor(readFileSync(talosApiDescriptorPaths(DEFAULT_TALOS_API_VERSION).talos));
  return root;
}

/** An event id: Talos uses xids (12 bytes, base32hex); any unique 20-character id reads the same to talosctl. */
const eventId = () => randomBytes(12).toString('hex').slice(0, 20);

export function machineEvent(type: 'SequenceEvent' | 'TaskEvent', payload: Record<string, unknown>, actorId: string): MachineEvent {
  const T = talosRoot().lookupType(`machine.${type}`);
  return { data: { type_url: `talos/runtime/machine.${type}`, value: Buffer.from(T.encode(T.fromObject(payload)).finish()) }, id: eventId(), actor_id: actorId };
}

/** The empty event every stream starts with. */
export const helloEvent = (actorId = ''): Record<string, unknown> => ({ id: eventId(), actor_id: actorId });

/** The reset sequence starting (internal/app/machined/pkg/runtime/v1alpha1 sequencer: Reset). */
export const resetStartedEvent = (actorId: string) => machineEvent('SequenceEvent', { sequence: 'reset', action: 1 }, actorId);

/** The reset's phase that stops every service, apid last: what `talosctl reset --wait` waits for. */
export const stopAllServicesEvent = (actorId: string) => machineEvent('TaskEvent', { task: 'stopAllServices', action: 0 }, actorId);

export const newActorId = () => randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

/**
 * What machined's event buffer gives back: NewEvents(1000, 10) keeps 1000 and leaves 10 of
 * them as a gap for writers, so 990 can be replayed
 * (internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_events.go).
 */
export const EVENT_BACKLOG = 990;

/** What a stream asks to be replayed (machine.EventsRequest): `tailEvents` -1 for all kept, n for the last n, 0 for none. */
export interface EventsTail {
  tailEvents?: number;
  withActorId?: string;
}

/**
 * Events per node address: a backlog each new stream may ask to have replayed (talosctl's
 * tracker does, with tail -1, when it reconnects mid-action), then the events as they happen.
 */
export class NodeEvents {
  private readonly bus = new EventEmitter().setMaxListeners(0);
  private readonly backlog = new Map<string, MachineEvent[]>();

  publish(ip: string, events: MachineEvent[]): void {
    const kept = this.backlog.get(ip) ?? [];
    kept.push(...events);
    if (kept.length > EVENT_BACKLOG) kept.splice(0, kept.length - EVENT_BACKLOG);
    this.backlog.set(ip, kept);
    for (const e of events) this.bus.emit(ip, e);
  }

  /** A new machine (a recreated VM) starts with no events. */
  forget(ip: string): void {
    this.backlog.delete(ip);
  }

  subscribe(ip: string, listener: (e: MachineEvent) => void, tail: EventsTail = {}): () => void {
    const wanted = (e: MachineEvent) => !tail.withActorId || e.actor_id === tail.withActorId;
    // As machined's Watch: the tail is taken from all kept events, then filtered by actor.
    const kept = this.backlog.get(ip) ?? [];
    const n = tail.tailEvents ?? 0;
    for (const e of (n < 0 ? kept : n > 0 ? kept.slice(-n) : []).filter(wanted)) listener(e);
    const live = (e: MachineEvent) => {
      if (wanted(e)) listener(e);
    };
    this.bus.on(ip, live);
    return () => this.bus.off(ip, live);
  }
}
