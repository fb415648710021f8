// Running keepalived's notify scripts in-process, for an LB stand-in (the sandbox's VRRP
// simulation, sandbox/vrrp-sim.ts) that has no `autok8s` binary to exec: the lines are the
// ones core/render/keepalived.ts writes into keepalived.conf, parsed by the CLI's own command
// definitions (client/cli.ts) and started with the same start functions its `failover` and
// `lb link` actions call (client/start.ts), without --wait, as keepalived runs them.
//
// The sandbox never imports this (it must not talk to Temporal): a test, the demo or the dev
// stack builds the hook with a Temporal client and hands it to `sandbox.vrrp.onNotify`.
import type { Client } from '@temporalio/client';
import type { Command } from 'commander';
import { intentProblem } from '../core/intents';
import { lbPublicNetwork } from '../core/public-path/lb-network';
import { KEEPALIVED_DEFAULTS, renderKeepalivedConf } from '../core/render/keepalived';
import type { ClusterSpec } from '../core/spec/schema';
import { buildProgram } from './cli';
import { clusterTarget } from './commands/common';
import { startFailover, startLbLink } from './start';

export type NotifyEvent = 'master' | 'backup' | 'fault' | 'stop';

/** The notify_<event> lines of a rendered keepalived.conf, by event (an event without a line runs nothing). */
export function notifyLines(conf: string): Partial<Record<NotifyEvent, string>> {
  const lines: Partial<Record<NotifyEvent, string>> = {};
  for (const m of conf.matchAll(/^\s*notify_(master|backup|fault|stop) "(.*)"$/gm)) lines[m[1] as NotifyEvent] = m[2];
  return lines;
}

/**
 * The commands of one notify line, in the groups the shell runs them: one command, or several
 * in `/bin/sh -c '…'` (what the renderer writes) joined by `; ` (one after the other) and ` & `
 * (the one before it in the background: it runs beside what follows). Each inner list is one
 * group whose commands run at once; the trailing `wait` only keeps the script alive.
 */
export function notifyCommandGroups(line: string): string[][][] {
  const sh = /^\/bin\/sh -c '(.*)'$/.exec(line);
  const words = (command: string) => command.split(' ').filter((w) => w !== '');
  const groups: string[][][] = [];
  let background: string[][] = [];
  for (const part of (sh ? sh[1] : line).split('; ')) {
    if (part === 'wait') continue;
    const pieces = part.split(' & ');
    background.push(...pieces.slice(0, -1).map(words));
    groups.push([...background, words(pieces[pieces.length - 1])]);
    background = [];
  }
  return groups;
}

/** The commands of one notify line, in the order the script starts them. */
export function notifyCommands(line: string): string[][] {
  return notifyCommandGroups(line).flat();
}

type Parsed = { kind: 'failover'; options: { cluster?: string; file?: string; ip: string; to?: string; reason: string } } | { kind: 'lb-link'; state: 'up' | 'down'; options: { cluster?: string; file?: string; server: string; reason?: string } };

/** Parses one command with the CLI's own definitions; refuses anything but `failover` and `lb link`. */
export async function parseNotifyCommand(argv: string[]): Promise<Parsed> {
  if (argv[0] !== KEEPALIVED_DEFAULTS.notifyCommand) throw new Error(`a notify command runs ${argv[0]}, not ${KEEPALIVED_DEFAULTS.notifyCommand}`);
  // Refused before parsing: the parse runs the action of whatever command it finds.
  if (argv[1] !== 'failover' && !(argv[1] === 'lb' && argv[2] === 'link')) throw new Error(`a notify command is "failover" or "lb link", not: ${argv.slice(1).join(' ')}`);
  const program = buildProgram();
  const sub = (parent: Command, name: string) => parent.commands.find((c) => c.name() === name)!;
  let parsed: Parsed | undefined;
  sub(program, 'failover').action((options: Extract<Parsed, { kind: 'failover' }>['options']) => {
    parsed = { kind: 'failover', options };
  });
  sub(sub(program, 'lb'), 'link').action((state: 'up' | 'down', options: Extract<Parsed, { kind: 'lb-link' }>['options']) => {
    parsed = { kind: 'lb-link', state, options };
  });
  await program.parseAsync(argv.slice(1), { from: 'user' });
  if (!parsed) throw new Error(`not a command to run: ${argv.slice(1).join(' ')}`);
  return parsed;
}

/** Starts what one parsed command starts, as its CLI action does (without --wait). */
async function run(parsed: Parsed, client: Client, taskQueue: string): Promise<void> {
  if (parsed.kind === 'failover') {
    const { target } = clusterTarget(parsed.options);
    await startFailover(client, taskQueue, target, { ip: parsed.options.ip, to: parsed.options.to, reason: parsed.options.reason });
    return;
  }
  const at = Date.now();
  const { target, cluster } = clusterTarget(parsed.options);
  const request = { state: parsed.state, at, ...(parsed.options.reason !== undefined ? { reason: parsed.options.reason } : {}) };
  const problem = intentProblem('lbLink', { cluster, server: parsed.options.server, ...request });
  if (problem !== undefined) throw new Error(problem);
  await startLbLink(client, taskQueue, target, { server: parsed.options.server, ...request });
}

export interface NotifyHookOptions {
  spec: ClusterSpec;
  client: Client;
  taskQueue: string;
  /** Each server's OVH facts, as bootstrap reads them for lbPublicNetwork (vmac needs the gateway). */
  gateways: Record<string, string | null>;
}

/**
 * A notify hook for sandbox.vrrp.onNotify: renders each LB's keepalived.conf as bootstrap
 * pushes it, and on a transition runs the matching notify line's commands in order.
 */
export function keepalivedNotifyHook(o: NotifyHookOptions): (server: string, event: NotifyEvent) => Promise<void> {
  const lines = new Map(
    o.spec.servers.map((s, index) => [s.name, notifyLines(renderKeepalivedConf(o.spec, s.name, { publicNetwork: lbPublicNetwork(o.spec, index, { gateway: o.gateways[s.name] ?? null }) }))]),
  );
  return async (server, event) => {
    const line = lines.get(server)?.[event];
    if (line === undefined) return;
    // keepalived waits for nothing; the script runs its groups one after the other, the commands of a group at once.
    for (const group of notifyCommandGroups(line)) {
      const parsed = await Promise.all(group.map((argv) => parseNotifyCommand(argv)));
      await Promise.all(parsed.map((p) => run(p, o.client, o.taskQueue)));
    }
  };
}
