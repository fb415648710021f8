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

/** What a reset emits once it runs (internal/app/machined/pkg/runtime/v1alpha1 sequencer: Reset, then stopAllServices). */
export function resetEvents(actorId: string): MachineEvent[] {
  return [machineEvent('SequenceEvent', { sequence: 'reset', action: 1 }, actorId), machineEvent('TaskEvent', { task: 'stopAllServices', action: 0 }, actorId)];
}

export const newActorId = () => randomBytes(16).toString('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

/** Events per node address, for the streams open on it. */
export class NodeEvents {
  private readonly bus = new EventEmitter().setMaxListeners(0);

  publish(ip: string, events: MachineEvent[]): void {
    for (const e of events) this.bus.emit(ip, e);
  }

  subscribe(ip: string, listener: (e: MachineEvent) => void): () => void {
    this.bus.on(ip, listener);
    return () => this.bus.off(ip, listener);
  }
}
