// `systemctl` on the in-process LB host, for Debian 12's three units (docs/contracts.md §D.3):
//
//   haproxy.service     ExecReload=haproxy -Ws -f $CONFIG -c -q, then kill -USR2: a bad file fails the reload
//   nginx.service       ExecReload=nginx -g '…' -s reload: nginx parses the file first, a bad one fails it
//   keepalived.service  ExecReload=kill -HUP $MAINPID: succeeds whatever the file says;
//                       ConditionFileNotEmpty=/etc/keepalived/keepalived.conf: a start without
//                       it is skipped (exit 0, the unit stays inactive)
//
// and systemd's own rules: `reload` of an inactive unit fails; `reload-or-restart` reloads an
// active unit and starts an inactive one; a failed start leaves the unit inactive.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { claimedHaproxyIdentity, haproxyIdentityAnswer } from '../../core/render/haproxy-identity';
import { checkConfig, hostPath, type CommandOutcome, type HostFilesystem, type UnitState } from './commands';

const LB_UNITS = new Set(['haproxy', 'nginx', 'keepalived']);

export async function systemctl(args: string[], fs: HostFilesystem): Promise<CommandOutcome> {
  const quiet = args.includes('--quiet') || args.includes('-q');
  const [verb, rawUnit] = args.filter((a) => a !== '--quiet' && a !== '-q');
  const unitName = (rawUnit ?? '').replace(/\.service$/, '');
  const unit = fs.units.get(unitName);
  if (!unit) return fail(5, `Failed to ${verb ?? 'run'} ${rawUnit ?? ''}.service: Unit ${rawUnit ?? ''}.service not found.`);
  const audit = { action: `systemctl ${verb}`, target: unitName };
  switch (verb) {
    case 'is-active':
      return { code: unit.active ? 0 : 3, stdout: quiet ? '' : unit.active ? 'active\n' : 'inactive\n', stderr: '' };
    case 'stop':
      unit.active = false;
      fs.onUnitActive?.(unitName, false);
      return { code: 0, stdout: '', stderr: '', audit };
    case 'reload':
      if (!unit.active) return fail(1, `${unitName}.service is not active, cannot reload.`, audit);
      return reload(unitName, unit, fs, audit);
    case 'reload-or-restart':
      return unit.active ? reload(unitName, unit, fs, audit) : start(unitName, unit, fs, audit);
    case 'restart':
      unit.active = false;
      return start(unitName, unit, fs, audit);
    case 'start':
      return unit.active ? { code: 0, stdout: '', stderr: '', audit } : start(unitName, unit, fs, audit);
    default:
      return fail(1, `systemctl ${verb ?? ''}: not supported by the in-process LB host`);
  }
}

type Audit = CommandOutcome['audit'];

async function start(name: string, unit: UnitState, fs: HostFilesystem, audit: Audit): Promise<CommandOutcome> {
  const loaded = await loadConfig(name, fs);
  // keepalived's ConditionFileNotEmpty: systemd skips the start, and the job still succeeds.
  if (name === 'keepalived' && (loaded.text === undefined || loaded.text === '')) return { code: 0, stdout: '', stderr: '', audit };
  if (!loaded.valid) return jobFailed(name, audit);
  const outcome = took(name, unit, loaded.text, audit);
  fs.onUnitActive?.(name, true);
  return outcome;
}

async function reload(name: string, unit: UnitState, fs: HostFilesystem, audit: Audit): Promise<CommandOutcome> {
  const loaded = await loadConfig(name, fs);
  // keepalived's reload is a HUP: it succeeds whatever the file says (only `keepalived -t` judges it).
  if (name === 'keepalived') return loaded.valid ? took(name, unit, loaded.text, audit) : { code: 0, stdout: '', stderr: '', audit };
  // A failed reload leaves the running service on its old config.
  if (!loaded.valid) return jobFailed(name, audit);
  return took(name, unit, loaded.text, audit);
}

async function loadConfig(name: string, fs: HostFilesystem): Promise<{ text?: string; valid: boolean }> {
  const path = fs.unitConfig[name];
  const text = path ? await readFile(hostPath(fs, path), 'utf8').catch(() => undefined) : undefined;
  if (text === undefined || !LB_UNITS.has(name)) return { text, valid: text !== undefined };
  return { text, valid: checkConfig(name as 'haproxy', text, path, fs).code === 0 };
}

function took(name: string, unit: UnitState, text: string | undefined, audit: Audit): CommandOutcome {
  unit.active = true;
  if (name === 'haproxy') {
    // HAProxy answers what the loaded file says, whether or not the claim is true.
    const claimed = claimedHaproxyIdentity(text ?? '');
    unit.configAnswer = claimed === undefined ? undefined : haproxyIdentityAnswer(claimed);
  }
  unit.loadedSha256 = createHash('sha256').update(text ?? '').digest('hex');
  unit.reloads += 1;
  return { code: 0, stdout: '', stderr: '', audit };
}

function jobFailed(name: string, audit: Audit): CommandOutcome {
  return fail(1, `Job for ${name}.service failed because the control process exited with error code.\nSee "systemctl status ${name}.service" and "journalctl -xeu ${name}.service" for details.`, audit);
}

function fail(code: number, stderr: string, audit?: Audit): CommandOutcome {
  return { code, stdout: '', stderr: `${stderr}\n`, audit };
}
