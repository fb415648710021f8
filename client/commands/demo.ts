// `npm run demo` / `autok8s demo`: the whole story on one machine, with nothing but npm.
// An embedded Temporal dev server (Web UI), the sandbox, a worker, then the chapters below;
// prints a timeline with a Web UI link per run, and stays up until Ctrl-C (or exits with
// `--until done`, which tests and CI use).
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadSource } from '../project';
import { Command, Option } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { TASK_QUEUE } from '../../core/workflow-ids';
import type { Sandbox } from '../../sandbox';
import { runUrl, type TemporalSettings } from '../connection';
import type { Output } from '../output';
import { startFailover } from '../start';
import { formatMs, outputFor, outputOption } from './common';
import { followProgress } from './follow';
import { untilSignal } from './sandbox';

export interface DemoContext {
  client: Client;
  settings: TemporalSettings;
  box: Sandbox;
  out: Output;
}

export interface ChapterResult {
  chapter: string;
  workflowId: string;
  runId: string;
  url: string;
  startedAt: number;
  durationMs: number;
  outcome: string;
}

interface Chapter {
  title: string;
  run(ctx: DemoContext): Promise<Omit<ChapterResult, 'chapter' | 'url' | 'startedAt' | 'durationMs'>>;
}

const CHAPTERS: Chapter[] = [
  {
    title: 'The active LB dies: the failover IP moves to a healthy one',
    async run({ client, settings, box, out }) {
      const ip = box.spec.failoverIps[0];
      const active = box.spec.servers.find((s) => s.ovhService === box.ovh.routing(ip))!;
      out.info(`  stopping the LB of ${active.name}, which holds ${ip}`);
      await box.lbHosts.get(active.name)!.setHealthy(false);
      const started = await startFailover(client, settings.taskQueue, box.spec, { ip, reason: `LB of ${active.name} down (demo)` });
      const result = await followProgress(started.handle, out);
      return {
        workflowId: started.workflowId,
        runId: started.runId,
        outcome: result.moved ? `${ip}: ${result.from} → ${result.to} (${formatMs(result.totalMs)})` : `${ip} stayed on ${result.to}`,
      };
    },
  },
];

export function demoCommand(): Command {
  const command = new Command('demo')
    .description('Run the whole story on this machine: dev server + Web UI, sandbox, worker, then the workflows')
    .option('--dir <dir>', 'demo directory (dev server database, sandbox)', '.autok8s/demo')
    .option('--ui-port <port>', 'Temporal Web UI port', '8233')
    .option('--port <port>', 'Temporal gRPC port', '7233')
    .addOption(new Option('--until <when>', 'stay up for exploring (ctrl-c), or exit once the story is done').choices(['ctrl-c', 'done']).default('ctrl-c'))
    .addHelpText('after', '\nExamples:\n  npm run demo\n  npx autok8s demo --until done --output json');
  outputOption(command);
  return command.action(async (options: { dir: string; uiPort: string; port: string; until: string; output: string }) => {
    const out = outputFor(options);
    const dir = resolve(options.dir);
    rmSync(dir, { recursive: true, force: true }); // a clean story every time
    // Loaded on use: these pull in the native bridge, the bundler and the simulators.
    const { startDevServer } = require('../dev/dev-server') as typeof import('../dev/dev-server');
    const { startSandbox } = loadSource<typeof import('../../sandbox')>('sandbox');
    const { createSecretResolver } = loadSource<typeof import('../../activities/secrets')>('activities/secrets');
    const { createWorker } = loadSource<typeof import('../../worker/worker')>('worker/worker');

    out.info(out.paint.bold('autok8s demo'));
    const server = await startDevServer({
      port: Number(options.port),
      uiPort: Number(options.uiPort),
      dbFile: `${dir}/temporal.db`,
      log: (line) => out.info(out.paint.dim(`  temporal cli: ${line}`)),
    });
    const settings: TemporalSettings = { address: server.address, namespace: 'default', taskQueue: TASK_QUEUE, uiUrl: server.uiUrl! };
    out.info(`  Temporal dev server ${server.address}, Web UI ${out.paint.bold(server.uiUrl!)}`);
    const box = await startSandbox({ dir: `${dir}/sandbox`, latency: { ovh: { moveMs: 3000 } } });
    out.info(`  sandbox: ${box.spec.servers.length} simulated OVH servers, spec ${box.specFile}`);
    const { worker, close: closeWorker } = await createWorker({ address: server.address, deps: { secrets: createSecretResolver(), pollIntervalMs: 250 } });
    const running = worker.run();
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const ctx: DemoContext = { client, settings, box, out };

    const shutdown = async () => {
      worker.shutdown();
      await running.catch(() => undefined);
      await closeWorker();
      await client.connection.close();
      await box.stop();
      await server.stop();
    };
    const results: ChapterResult[] = [];
    try {
      for (const chapter of CHAPTERS) {
        out.info(`\n${out.paint.bold(chapter.title)}`);
        const startedAt = Date.now();
        const r = await chapter.run(ctx);
        results.push({ chapter: chapter.title, ...r, url: runUrl(settings, r.workflowId, r.runId), startedAt, durationMs: Date.now() - startedAt });
      }
    } catch (err) {
      await shutdown();
      throw err;
    }
    const origin = results[0]?.startedAt ?? Date.now();
    out.result(
      { webUi: server.uiUrl, specFile: box.specFile, timeline: results },
      (r: { timeline: ChapterResult[] }) =>
        [
          '',
          out.paint.bold('Timeline'),
          ...r.timeline.map((c) => `  +${formatMs(c.startedAt - origin).padEnd(8)} ${formatMs(c.durationMs).padStart(8)}  ${c.chapter}\n      ${c.outcome}\n      ${out.paint.dim(c.url)}`),
          '',
          `Web UI: ${server.uiUrl}   spec: ${box.specFile}`,
        ].join('\n'),
    );
    if (options.until === 'done') {
      await shutdown();
      return;
    }
    out.info('Everything stays up for you to explore. Ctrl-C stops it.');
    await untilSignal(shutdown);
  });
}
