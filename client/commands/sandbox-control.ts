// `autok8s sandbox fault|faults|audit|hook`: talk to a running sandbox's control API,
// whose address `sandbox up` / `dev` / `demo` write to <dir>/control.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { UsageError } from '../errors';
import { outputFor, outputOption } from './common';

function controlUrl(dir: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'control.json'), 'utf8')) as { url: string }).url;
  } catch {
    throw new UsageError(`no running sandbox in ${dir} (no control.json); start one with \`autok8s sandbox up --dir ${dir}\` or pass --dir`);
  }
}

async function call(dir: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const url = controlUrl(dir);
  let response: Response;
  try {
    response = await fetch(url + path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  } catch {
    throw new Error(`the sandbox at ${url} does not answer; is it still running?`);
  }
  const value = (await response.json()) as { error?: string };
  if (!response.ok) throw new UsageError(value.error ?? `sandbox answered ${response.status}`);
  return value;
}

const dirOption = () => new Option('--dir <dir>', 'sandbox directory').default('.autok8s/sandbox');

export function faultCommand(): Command {
  const command = new Command('fault')
    .description('Inject a fault into a running sandbox: the next matching call(s) fail the way you say')
    .addOption(dirOption())
    .requiredOption('--service <name>', 'simulator: ovh, proxmox, proxmox:<node>')
    .option('--method <method>', 'HTTP method to match, e.g. POST')
    .option('--path <regex>', 'regular expression on the request path, e.g. "/move$"')
    .option('--status <code>', 'answer with this HTTP status without applying the call')
    .option('--applied-status <code>', 'apply the call, then answer with this status (the retry trap)')
    .option('--hang', 'never answer')
    .option('--reset', 'cut the connection')
    .option('--task-error', 'accept the call, but its task ends in error')
    .option('--times <n>', 'how many matching calls', '1')
    .addHelpText('after', '\nExamples:\n  autok8s sandbox fault --service ovh --method POST --path "/move$" --applied-status 500\n  autok8s sandbox fault --service ovh --path "^/ip" --status 429 --times 3');
  outputOption(command);
  return command.action(async (o: Record<string, string | boolean | undefined>) => {
    const kinds = [o.status && 'status', o.appliedStatus && 'applied', o.hang && 'hang', o.reset && 'reset', o.taskError && 'task'].filter(Boolean);
    if (kinds.length !== 1) throw new UsageError('give exactly one of --status, --applied-status, --hang, --reset, --task-error');
    const times = Number(o.times);
    if (!Number.isInteger(times) || times < 1) throw new UsageError(`--times ${o.times}: give a whole number ≥ 1`);
    const status = (v: unknown, flag: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 400 || n > 599) throw new UsageError(`${flag} ${v}: give an HTTP error status from 400 to 599`);
      return n;
    };
    const effect = o.status
      ? { kind: 'status', status: status(o.status, '--status') }
      : o.appliedStatus
        ? { kind: 'applyThenStatus', status: status(o.appliedStatus, '--applied-status') }
        : o.hang
          ? { kind: 'hang' }
          : o.reset
            ? { kind: 'reset' }
            : { kind: 'taskError' };
    const rule = await call(String(o.dir), 'POST', '/faults', { service: o.service, method: o.method, path: o.path, effect, times });
    outputFor(o as { output?: string }).result(rule, (r) => `fault added: ${JSON.stringify(r)}`);
  });
}

export function faultsClearCommand(): Command {
  return new Command('clear-faults')
    .description('Remove every injected fault from a running sandbox')
    .addOption(dirOption())
    .action(async (o: { dir: string }) => {
      await call(o.dir, 'DELETE', '/faults');
      process.stdout.write('faults cleared\n');
    });
}

export function auditCommand(): Command {
  const command = new Command('audit')
    .description("Print a running sandbox's audit log: every mutating call the simulators received")
    .addOption(dirOption())
    .option('--service <name>', 'only this simulator')
    .option('--action <action>', 'only this action, e.g. "POST /ip/{ip}/move"')
    .addHelpText('after', '\nExample:\n  autok8s sandbox audit --action "POST /ip/{ip}/move" --output json');
  outputOption(command);
  return command.action(async (o: { dir: string; service?: string; action?: string; output: string }) => {
    const query = new URLSearchParams(Object.entries({ service: o.service, action: o.action }).filter(([, v]) => v !== undefined) as [string, string][]);
    const entries = (await call(o.dir, 'GET', `/audit?${query}`)) as { seq: number; at: number; service: string; action: string; target: string; outcome: string }[];
    outputFor(o).result(entries, (list: typeof entries) =>
      list.map((e) => `${String(e.seq).padStart(4)} ${new Date(e.at).toISOString().slice(11, 23)} ${e.service.padEnd(14)} ${e.outcome.padEnd(8)} ${e.action} ${e.target}`).join('\n') || '(empty)',
    );
  });
}

export function hookCommand(): Command {
  return new Command('hook')
    .description('Run a demo hook in a running sandbox (lb-down, lb-up, keepalived-stop, keepalived-start, vrrp-isolate, node-not-ready, kill-vm)')
    .addOption(dirOption())
    .argument('<name>', 'hook name')
    .argument('[args...]', 'hook arguments, e.g. a server name')
    .addHelpText('after', '\nExamples:\n  autok8s sandbox hook lb-down srv-a\n  autok8s sandbox hook keepalived-stop srv-a\n  autok8s sandbox hook vrrp-isolate srv-b 8000   # srv-b hears no VRRP advert for 8 s: a split brain')
    .action(async (name: string, args: string[], o: { dir: string }) => {
      const { result } = (await call(o.dir, 'POST', `/hooks/${name}`, { args })) as { result: unknown };
      process.stdout.write(`${typeof result === 'string' ? result : JSON.stringify(result)}\n`);
    });
}
