import { ScheduleOverlapPolicy } from '@temporalio/client';
import { Command } from 'commander';
import { parseDuration } from '../../core/spec/duration';
import { workflowIds } from '../../core/workflow-ids';
import type { WatcherState } from '../../core/health/watcher';
import { connectClient, temporalSettings } from '../connection';
import { UsageError } from '../errors';
import { describeHealthSchedule, upsertHealthSchedule } from '../health-schedule';
import { loadSpec, outputFor, outputOption, specOption } from './common';

async function withClient<T>(fn: (client: Awaited<ReturnType<typeof connectClient>>, taskQueue: string) => Promise<T>): Promise<T> {
  const settings = temporalSettings();
  const client = await connectClient(settings);
  try {
    return await fn(client, settings.taskQueue);
  } finally {
    await client.connection.close();
  }
}

function scheduleCommand(): Command {
  const command = new Command('schedule')
    .description('Create (or update) the Temporal Schedule <cluster>/health: one watch window per --window, probing every interval')
    .option('--every <duration>', 'interval between probes (default: health.interval of the spec, which a later apply can change)')
    .option('--window <duration>', 'length of one watch window, one scheduled run', '1h')
    .addHelpText('after', '\nExamples:\n  autok8s health schedule -f cluster.yaml\n  autok8s health schedule -f cluster.yaml --every 30s --window 1h');
  specOption(command);
  outputOption(command);
  return command.action(async (o: { file: string; every?: string; window: string; output: string }) => {
    const spec = loadSpec(o.file);
    const every = o.every ?? spec.health.interval;
    for (const [flag, value, least] of [['--every', every, 1000], ['--window', o.window, 10_000]] as const) {
      try {
        if (parseDuration(value) < least) throw new Error('too short');
      } catch {
        throw new UsageError(`${flag} ${value}: give a duration of at least ${least / 1000}s, such as 30s or 1h`);
      }
    }
    const result = await withClient((client, queue) => upsertHealthSchedule(client, queue, spec, o.every, o.window));
    outputFor(o).result(result, (r) => `${r.created ? 'created' : 'updated'} schedule ${r.scheduleId}: a ${r.window} watch window, probing every ${r.every}`);
  });
}

function stateCommand(name: 'pause' | 'resume' | 'delete', description: string): Command {
  const command = new Command(name).description(description).addHelpText('after', `\nExample:\n  autok8s health ${name} -f cluster.yaml`);
  specOption(command);
  return command.action(async (o: { file: string }) => {
    const spec = loadSpec(o.file);
    const id = workflowIds.health(spec.metadata.name);
    await withClient(async (client) => {
      const handle = client.schedule.getHandle(id);
      if (name === 'pause') await handle.pause('paused with autok8s health pause');
      if (name === 'resume') {
        await handle.unpause('resumed with autok8s health resume');
        // A window still running resumes probing within an interval; if the window ended while
        // paused, this starts the next one now rather than at the next window time.
        await handle.trigger(ScheduleOverlapPolicy.SKIP);
      }
      if (name === 'delete') await handle.delete();
    });
    process.stdout.write(`${id}: ${name === 'delete' ? 'deleted' : `${name}d`}\n`);
  });
}

function statusCommand(): Command {
  const command = new Command('status').description('The health schedule and what the watcher last saw and decided');
  specOption(command);
  outputOption(command);
  return command.action(async (o: { file: string; output: string }) => {
    const spec = loadSpec(o.file);
    const status = await withClient(async (client) => {
      const schedule = await describeHealthSchedule(client, spec.metadata.name);
      let watcher: WatcherState | undefined;
      try {
        watcher = await client.workflow.getHandle(workflowIds.watcher(spec.metadata.name)).query<WatcherState>('status');
      } catch {
        watcher = undefined;
      }
      return {
        schedule: schedule && { id: schedule.scheduleId, paused: schedule.state.paused, nextActionTimes: schedule.info.nextActionTimes.slice(0, 3), recentActions: schedule.info.recentActions.length },
        watcher,
      };
    });
    outputFor(o).result(status, (s: typeof status) => {
      const lines = [s.schedule ? `schedule ${s.schedule.id}: ${s.schedule.paused ? 'PAUSED' : 'active'}, ${s.schedule.recentActions} recent windows` : 'no health schedule (autok8s health schedule -f ...)'];
      const last = s.watcher?.lastObservation;
      if (last) {
        const bad = last.nodes.filter((n) => !n.healthy);
        lines.push(`last pass ${new Date(last.at).toISOString()}: ${bad.length === 0 ? 'all healthy' : bad.map((n) => `${n.server}/${n.role}: ${n.detail}`).join('; ')}`);
        for (const a of s.watcher!.lastActions) lines.push(`  ${a.kind.padEnd(8)} ${'server' in a ? `${a.server}/${a.role}` : a.ip}: ${a.why}`);
        if (s.watcher!.inFlight.length > 0) lines.push(`in flight: ${s.watcher!.inFlight.join(', ')}`);
      }
      return lines.join('\n');
    });
  });
}

export function healthCommand(): Command {
  const health = new Command('health').description('Scheduled health checks with safe auto-remediation');
  for (const sub of [
    scheduleCommand(),
    stateCommand('pause', 'Pause the health schedule (no passes, no remediation) until resumed'),
    stateCommand('resume', 'Resume a paused health schedule'),
    stateCommand('delete', 'Delete the health schedule'),
    statusCommand(),
  ]) {
    health.addCommand(sub.exitOverride());
  }
  return health;
}
