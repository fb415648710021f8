// The sandbox's Talos faults on the gRPC path: the same rules as the loopback HTTP path of
// the stand-in (service "talos", method = talosctl's words for the call, path = node IP),
// with the effects a gRPC client sees. A hang never answers until the nodes stop; a reset
// is the connection cut mid-call (grpc-go: "error reading from server: EOF").
import type { FaultInjector } from '../../faults';
import type { AuditLog } from '../../audit';
import type { TalosAnswer, TalosCall } from '../protocol';
import { actionOf, isMutating, type TalosApi } from '../talos-api';
import { CONNECTION_RESET } from '../wording';

export interface FaultedHandle {
  handle(call: TalosCall): Promise<TalosAnswer>;
  /** Answers every call a hang holds (as a cut connection), so stopping never waits on them. */
  releaseHeld(): void;
}

/** An injected refusal as talosctl prints it: 5xx is Unavailable, 429 ResourceExhausted, others FailedPrecondition. */
export function faultMessage(status: number, message?: string): string {
  const code = status >= 500 ? 'Unavailable' : status === 429 ? 'ResourceExhausted' : 'FailedPrecondition';
  return `rpc error: code = ${code} desc = ${message ?? `injected fault (${status})`}`;
}

export function faultedHandle(api: TalosApi, faults: FaultInjector | undefined, audit: AuditLog): FaultedHandle {
  const held = new Set<() => void>();
  const cut = (call: TalosCall): TalosAnswer => ({ ok: false, failure: { scope: 'transport', node: call.node, message: CONNECTION_RESET } });
  return {
    async handle(call) {
      const action = actionOf(call);
      const effect = faults?.take('talos', action, call.node);
      const record = (detail: Record<string, unknown>) => {
        if (isMutating(call)) audit.record({ service: 'talos', action, target: call.node, outcome: 'fault', detail });
      };
      switch (effect?.kind) {
        case undefined:
        case 'taskError':
          return api.handle(call);
        case 'delay':
          await new Promise((r) => setTimeout(r, effect.ms));
          return api.handle(call);
        case 'hang':
          record({ effect: 'hang' });
          return new Promise<TalosAnswer>((resolve) => {
            const release = () => resolve(cut(call));
            held.add(release);
          });
        case 'reset':
          record({ effect: 'reset' });
          return cut(call);
        case 'status':
          record({ effect: 'status', status: effect.status });
          return { ok: false, failure: { scope: 'node', node: call.node, message: faultMessage(effect.status, effect.message) } };
        case 'applyThenStatus':
          api.handle(call);
          record({ effect: 'applyThenStatus', status: effect.status });
          return { ok: false, failure: { scope: 'node', node: call.node, message: faultMessage(effect.status, effect.message) } };
      }
    },
    releaseHeld() {
      for (const release of held) release();
      held.clear();
    },
  };
}
