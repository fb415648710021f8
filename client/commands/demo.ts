// `npm run demo` / `autok8s demo`: the whole story on one machine, with nothing but npm.
// An embedded Temporal dev server (Web UI), the sandbox, a worker, then the chapters below;
// prints a timeline with a Web UI link per run, and stays up until Ctrl-C (or exits with
// `--until done`, which tests and CI use).
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { Client } from '@temporalio/client';
import { TASK_QUEUE } from '../../core/workflow-ids';
import type { Sandbox } from '../../sandbox';
import { openConnection, runUrl, type TemporalSettings } from '../connection';
import { localTemporalConnection } from '../temporal-connection';
import type { Output } from '../output';
import { startBootstrap, startReplace } from '../start';
import { upsertHealthSchedule } from '../health-schedule';
import { workflowIds } from '../../core/workflow-ids';
import { CLUSTER, OPERATION } from '../../core/search-attributes';
import type { FailoverIpResult } from '../../workflows/failover-ip';
import type { WatcherState } from '../../core/health/watcher';
import { formatMs, outputFor, outputOption } from './common';
import { followProgress } from './follow';
import { untilSignal } from '../lifecycle';

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

/** How the replaced control plane left etcd, in words. */
const ETCD_EXIT = { leave: 'it left etcd itself', 'remove-member': 'its etcd member was removed', 'already-gone': 'it was no longer an etcd member' } as const;

const DEMO_HEALTH = { interval: '5s', unhealthyAfter: '10s', nodeStartupTimeout: '60s', maxUnhealthy: 1, autoRemediate: true };
/** Probes run more often than the spec's interval for the demo's sake, as `health schedule --every 2s` would. */
const DEMO_PASS_EVERY = '2s';

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`demo: gave up after ${timeoutMs / 1000} s waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

const CHAPTERS: Chapter[] = [
  {
    title: 'Bootstrap a 3-server cluster: vRack, 9 VMs, Talos, etcd, LB configs, failover IP',
    async run({ client, settings, box, out }) {
      const started = await startBootstrap(client, settings.taskQueue, box.spec);
      const children = box.spec.servers.map((s) => ({ label: s.name, handle: client.workflow.getHandle(workflowIds.provisionServer(box.spec.metadata.name, s.name)) }));
      const result = await followProgress(started.handle, out, { children });
      return { workflowId: started.workflowId, runId: started.runId, outcome: `${result.summary.join('; ')} (${formatMs(result.totalMs)})` };
    },
  },
  {
    title: 'Health checks every 2 s: a Temporal Schedule, with a watcher that remembers',
    async run({ client, settings, box, out }) {
      const schedule = await upsertHealthSchedule(client, settings.taskQueue, box.spec, DEMO_PASS_EVERY);
      const watcher = client.workflow.getHandle(workflowIds.watcher(box.spec.metadata.name));
      await until('the first health pass', async () => (await watcher.query<WatcherState>('status').catch(() => undefined))?.lastObservation !== undefined, 60_000);
      const description = await watcher.describe();
      out.info(`  schedule ${schedule.scheduleId} runs a ${schedule.window} healthCheck watch window probing every ${schedule.every}; watcher ${watcher.workflowId}`);
      return { workflowId: watcher.workflowId, runId: description.runId, outcome: 'first pass: all healthy' };
    },
  },
  {
    title: "The active LB dies: keepalived's check fails, the next LB takes over and moves the failover IP",
    async run({ client, box, out }) {
      const ip = box.spec.failoverIps[0];
      const active = box.spec.servers.find((s) => s.ovhService === box.ovh.routing(ip))!;
      const since = new Date(Date.now() - 1_000).toISOString();
      out.info(`  stopping the LB of ${active.name}, which holds ${ip}`);
      await box.lbHosts.get(active.name)!.setHealthy(false);
      await until(`${ip} leaves ${active.name}`, () => box.ovh.routing(ip) !== active.ovhService, 120_000);
      // The run that moved it: keepalived's notify_master on the new MASTER, or the health pass,
      // whichever started first (the other joins it or finds nothing to do).
      let found: Awaited<ReturnType<typeof findMovingRun>>;
      await until(`the failover run that moved ${ip}`, async () => (found = await findMovingRun(client, box.spec.metadata.name, since)) !== undefined, 120_000);
      const moved = found!;
      await box.lbHosts.get(active.name)!.setHealthy(true); // back before unhealthyAfter: the LB VM itself is left alone
      out.info(`  ${ip} moved ${moved.result.from} → ${moved.result.to} (${moved.result.reason})`);
      return { workflowId: moved.workflowId, runId: moved.runId, outcome: `${ip}: ${moved.result.from} → ${moved.result.to} (${formatMs(moved.result.totalMs)}, ${moved.result.reason})` };
    },
  },
  {
    title: 'A worker VM is killed: after unhealthyAfter the health check reboots it through Proxmox',
    async run({ client, box, out }) {
      const victim = box.spec.servers[1];
      const vmid = victim.vms.worker.vmid;
      const sim = box.proxmox.get(victim.name)!;
      const starts = () => box.audit.entries({ service: sim.service, action: 'qmstart', target: String(vmid), outcome: 'ok' }).length;
      const before = starts();
      out.info(`  killing VM ${vmid} (${victim.name}/worker)`);
      sim.killVm(vmid);
      const watcher = client.workflow.getHandle(workflowIds.watcher(box.spec.metadata.name));
      await until('the watcher reboots it', () => starts() > before, 120_000);
      out.info('  rebooted; waiting until every node is healthy again');
      await until(
        'the cluster is healthy again',
        async () => {
          const status = await watcher.query<WatcherState>('status');
          return status.inFlight.length === 0 && status.lastObservation!.at > Date.now() - 5000 && status.lastObservation!.nodes.every((n) => n.healthy);
        },
        120_000,
      );
      const description = await watcher.describe();
      return { workflowId: watcher.workflowId, runId: description.runId, outcome: `${victim.name}/worker rebooted and Ready again` };
    },
  },
  {
    title: 'Planned maintenance: health checks paused, srv-c\'s control plane rebuilt, etcd back to 3 members',
    async run({ client, settings, box, out }) {
      const server = box.spec.servers[2];
      const schedule = client.schedule.getHandle(workflowIds.health(box.spec.metadata.name));
      // Paused, as an operator would: a node taken down on purpose is not a failure to remediate.
      await schedule.pause(`demo: replacing ${server.name}/controlPlane`);
      out.info(`  health schedule paused; replacing ${server.name}/controlPlane (quorum guard, etcd member removed, VM rebuilt, rejoined)`);
      try {
        const started = await startReplace(client, settings.taskQueue, box.spec, { server: server.name, role: 'controlPlane', reason: 'demo: planned maintenance' });
        const result = await followProgress(started.handle, out);
        return {
          workflowId: started.workflowId,
          runId: started.runId,
          outcome: `${server.name}/controlPlane rebuilt as VM ${result.newVmid}; ${ETCD_EXIT[result.etcd?.how ?? 'already-gone']}, ${result.etcd?.membersAfter ?? '?'} etcd members after (${formatMs(result.totalMs)})`,
        };
      } finally {
        await schedule.unpause('demo: maintenance done');
        out.info('  health schedule resumed');
      }
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
    out.info(out.paint.bold('autok8s demo'));
    // Payloads encrypted as in production (docs/design.md §4.7); the UI shows them through the codec server.
    // Loaded on use: the stack pulls in the native bridge, the bundler and the simulators.
    const { startLocalStack } = require('../dev/local-stack') as typeof import('../dev/local-stack');
    const stack = await startLocalStack({
      dir: resolve(options.dir),
      what: 'demo',
      fresh: true, // a clean story every time
      port: Number(options.port),
      uiPort: Number(options.uiPort),
      sandbox: { latency: { ovh: { moveMs: 3000 } }, health: DEMO_HEALTH },
      pollIntervalMs: 250,
      log: (line) => out.info(out.paint.dim(`  temporal cli: ${line}`)),
    });
    const { server, codec, box } = stack;
    const settings: TemporalSettings = { connection: localTemporalConnection(server.address), namespace: 'default', taskQueue: TASK_QUEUE, uiUrl: server.uiUrl! };
    out.info(`  Temporal dev server ${server.address}, Web UI ${out.paint.bold(server.uiUrl!)}`);
    out.info(`  payloads encrypted with ${codec.keysFile}; the Web UI decodes them through ${codec.codecServer.url}`);
    out.info(`  sandbox: ${box.spec.servers.length} simulated OVH servers, spec ${box.specFile}`);
    for (const line of stack.talosctl) out.info(`  ${line}`);

    let client: Client | undefined;
    const shutdown = async () => {
      const c = client;
      if (!c) return stack.stop();
      // The schedule and the watcher may be gone already (or never made, if a chapter failed early).
      await c.schedule.getHandle(workflowIds.health(box.spec.metadata.name)).delete().catch(() => undefined);
      await c.workflow.getHandle(workflowIds.watcher(box.spec.metadata.name)).terminate('demo stopped').catch(() => undefined);
      await stack.stop([["the demo's client", () => c.connection.close()]]);
    };
    const results: ChapterResult[] = [];
    try {
      client = new Client({ connection: await openConnection(settings.connection), dataConverter: codec.dataConverter });
      const ctx: DemoContext = { client, settings, box, out };
      for (const chapter of CHAPTERS) {
        out.info(`\n${out.paint.bold(chapter.title)}`);
        const startedAt = Date.now();
        const r = await chapter.run(ctx);
        results.push({ chapter: chapter.title, ...r, url: runUrl(settings, r.workflowId, r.runId), startedAt, durationMs: Date.now() - startedAt });
      }
    } catch (err) {
      // The chapter's failure is the one to report; a stop that also fails is only mentioned.
      await shutdown().catch((stopErr: Error) => out.info(stopErr.message));
      throw err;
    }
    const origin = results[0]?.startedAt ?? Date.now();
    out.result(
      { webUi: server.uiUrl, codecServer: codec.codecServer.url, payloadKeys: codec.keysFile, specFile: box.specFile, talosctl: stack.talosctl, timeline: results },
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

/** The completed failoverIp run of `cluster` started since `since` that moved the IP, if any yet. */
async function findMovingRun(client: Client, cluster: string, since: string): Promise<{ workflowId: string; runId: string; result: FailoverIpResult } | undefined> {
  const query = `${CLUSTER.name} = '${cluster}' AND ${OPERATION.name} = 'failover' AND ExecutionStatus = 'Completed' AND StartTime >= '${since}'`;
  for await (const run of client.workflow.list({ query })) {
    const result = (await client.workflow.getHandle(run.workflowId, run.runId).result()) as FailoverIpResult;
    if (result.moved) return { workflowId: run.workflowId, runId: run.runId, result };
  }
  return undefined;
}
