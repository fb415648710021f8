// The heartbeat of a push while it runs: every stage change is reported as it happens, and
// a timer repeats the current stage whenever nothing was reported for a while, so a long
// step (a slow reload, the SSH handshake, a validator taking its time) never leaves the
// activity silent past its heartbeat timeout (20 s). The same timer refreshes the host's
// push lock, so the lock stays alive exactly as long as this push does.
import type { RemoteConfigFile } from '../../core/render/lb-files';

export type PushStage = 'connect' | 'lock' | 'inspect' | 'upload' | 'validate' | 'backup' | 'swap' | 'reload' | 'probe' | 'rollback' | 'finish';

export interface PulseSinks {
  /** Called at each stage (the activity heartbeats with it). */
  onProgress?: (stage: PushStage, detail?: string, file?: RemoteConfigFile) => void;
  /** Called inside waits and loops, and when a stage runs long (the activity heartbeats with it). */
  heartbeat?: (details: Record<string, unknown>) => void;
}

/** Nothing reported for this long: the timer repeats the current stage. */
const QUIET_MS = 2_000;
const TICK_MS = 500;

export class Pulse {
  private last: { stage: PushStage; detail?: string; file?: string } = { stage: 'connect' };
  private lastBeatAt = Date.now();
  private readonly timer: NodeJS.Timeout;
  private refresher?: { everyMs: number; lastAt: number; running: boolean; refresh: () => Promise<void> };

  constructor(private readonly sinks: PulseSinks) {
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  stage(stage: PushStage, detail?: string, file?: RemoteConfigFile): void {
    this.last = { stage, detail, file: file?.path };
    this.lastBeatAt = Date.now();
    this.sinks.onProgress?.(stage, detail, file);
  }

  /** A heartbeat from inside a wait or loop, with what it is waiting for. */
  beat(details: Record<string, unknown>): void {
    this.lastBeatAt = Date.now();
    this.sinks.heartbeat?.({ ...this.last, ...details });
  }

  /** Runs `refresh` every `everyMs` until stopRefreshing (one at a time; a slow one is not stacked). */
  refreshEvery(everyMs: number, refresh: () => Promise<void>): void {
    this.refresher = { everyMs, lastAt: Date.now(), running: false, refresh };
  }

  stopRefreshing(): void {
    this.refresher = undefined;
  }

  stop(): void {
    clearInterval(this.timer);
    this.refresher = undefined;
  }

  private tick(): void {
    const now = Date.now();
    if (now - this.lastBeatAt >= QUIET_MS) this.beat({ still: true });
    const r = this.refresher;
    if (r && !r.running && now - r.lastAt >= r.everyMs) {
      r.running = true;
      r.lastAt = now;
      r.refresh().finally(() => (r.running = false));
    }
  }
}
