// watchCluster: one leg of a health watch window. Probes the cluster every interval (the
// spec's health.interval, or the schedule's override) with observeCluster and comes back to
// the workflow only when the watcher must decide again (core/health/watch-window.ts) or the
// window ends. In between it costs Temporal one heartbeat per heartbeat cadence, nothing per
// probe: reading the schedule's paused state and the spec store's description are reads,
// not billable actions (bench/temporal-footprint.ts measures it).
//
// Its heartbeat details are its progress (probes, the quiet stretch, the last probe): a
// retry after a worker dies resumes the count, and since the baseline (what the watcher last
// received) is in the leg's input, a change seen but not yet returned is seen again.
import { Context } from '@temporalio/activity';
import type { ClusterObservation, TimedObservation } from '../../core/health/observation';
import { changesBetween, legEnd, quietSummary, type LegEnd } from '../../core/health/watch-window';
import { parseDuration } from '../../core/spec/duration';
import type { ClusterSpec } from '../../core/spec/schema';

export interface WatchLeg {
  cluster: string;
  /** Window end (ms since the epoch): the leg returns at the first probe time at or after it. */
  until: number;
  /** Probe interval override (ms); the spec's health.interval otherwise. */
  everyMs?: number;
  /** Heartbeat at most this often (ms): a fraction of the heartbeat timeout, as few as that allows. */
  beatEveryMs: number;
  /** What the watcher last received, and the generation it was seen with. */
  baseline?: ClusterObservation;
  generation?: string;
  /** The watcher's answer: when its decision on the same observation could change. */
  recheckAt?: number;
  /** The schedule to read the paused state of; no probing while it is paused. */
  scheduleId: string;
}

export interface WatchLegResult {
  end: LegEnd;
  generation: string;
  /** The observation to hand to the watcher (absent at a quiet window end). */
  observation?: ClusterObservation;
  changes: string[];
  probes: number;
  /** One line for the Web UI: what changed, or the quiet stretch this leg watched. */
  summary: string;
}

interface LegProgress {
  probes: number;
  quietSince: number;
  paused: boolean;
}

export interface WatchDeps {
  /** The current accepted spec from the worker's generation cache, the store asked only when the stamp moved (SpecResolver.current). */
  currentSpec(cluster: string, stamp: string | undefined): Promise<{ generation: string; spec: ClusterSpec }>;
  observeCluster(spec: ClusterSpec): Promise<TimedObservation>;
  /** Whether the schedule is paused (a describe, not a billable action). */
  schedulePaused(scheduleId: string): Promise<boolean>;
  /** Changes whenever the spec store takes an apply (run ID and history length from a describe); undefined without a store. */
  specStamp(cluster: string): Promise<string | undefined>;
}

export function createWatchActivity(deps: WatchDeps) {
  return {
    async watchCluster(leg: WatchLeg): Promise<WatchLegResult> {
      const ctx = Context.current();
      const resumed = ctx.info.heartbeatDetails as LegProgress | undefined;
      const progress: LegProgress = resumed ?? { probes: 0, quietSince: Date.now(), paused: false };
      let lastBeat = 0;
      const beat = (force = false) => {
        if (!force && Date.now() - lastBeat < leg.beatEveryMs) return;
        lastBeat = Date.now();
        ctx.heartbeat(progress);
      };
      beat(true);

      let stamp = await deps.specStamp(leg.cluster);
      let { generation, spec } = await deps.currentSpec(leg.cluster, stamp);
      const specChanged = () => leg.generation !== undefined && generation !== leg.generation;
      let last: ClusterObservation | undefined = leg.baseline;
      const every = () => leg.everyMs ?? parseDuration(spec.health.interval);

      // A leg after a report starts an interval after it: the watcher has just seen that look.
      for (let next = leg.baseline === undefined ? Date.now() : Date.now() + every(); ; next += every()) {
        // Asleep until the next probe, waking to heartbeat at the cadence: an interval longer
        // than the heartbeat timeout must not look like a dead worker.
        // Late (a slow probe): the next one an interval after this one, not a burst to catch up.
        if (next < Date.now()) next = Date.now();
        while (next > Date.now()) {
          await ctx.sleep(Math.max(1, Math.min(next - Date.now(), lastBeat + leg.beatEveryMs - Date.now())));
          beat();
        }
        // A window always looks once, however late its first leg starts.
        if (Date.now() >= leg.until && leg.baseline !== undefined) {
          return { end: 'window-end', generation, changes: [], probes: progress.probes, summary: `window over: ${progress.paused ? 'schedule paused' : quietSummary(last, progress.quietSince, Date.now(), progress.probes)}` };
        }
        const paused = await deps.schedulePaused(leg.scheduleId);
        if (paused !== progress.paused) {
          progress.paused = paused;
          beat(true);
        }
        if (paused) {
          beat();
          continue;
        }
        const newStamp = await deps.specStamp(leg.cluster);
        if (newStamp !== stamp) {
          stamp = newStamp;
          ({ generation, spec } = await deps.currentSpec(leg.cluster, stamp));
        }
        const { checks: _checks, ...seen } = await deps.observeCluster(spec);
        progress.probes += 1;
        const changes = changesBetween(leg.baseline, seen);
        const end = legEnd({ baseline: leg.baseline, seen, changes, specChanged: specChanged(), recheckAt: leg.recheckAt, now: Date.now() });
        last = seen;
        if (end !== undefined) {
          const summary =
            end === 'first' ? `first look: ${quietSummary(seen, Date.now(), Date.now(), 1).replace(/ for .*/, '')}` :
            end === 'spec' ? `spec ${leg.generation} → ${generation}` :
            end === 'due' ? `decision due (${quietSummary(seen, progress.quietSince, Date.now(), progress.probes)})` :
            changes.join('; ');
          return { end, generation, observation: seen, changes, probes: progress.probes, summary };
        }
        beat();
      }
    },
  };
}
