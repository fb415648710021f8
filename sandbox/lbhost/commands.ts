// The programs an LB VM offers to the SSH push, played in-process over a per-host root
// directory: every absolute path the push names lives under `rootDir`. Only the argv forms
// the push and its probes use are supported; anything else answers like a missing program
// (exit 127), so a push relying on something new fails here instead of passing silently.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { chmod, copyFile, lstat, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { posix, resolve, sep } from 'node:path';
import { LB_CONFIG_PATHS } from '../../core/render/lb-files';
import { dateCommand, ln, readlinkCommand, statCommand, touch } from './link-commands';
import { ipCommand } from './ip-command';
import { systemctl } from './systemctl';
import { DEBIAN_LB_USERS } from './debian-layout';
import { checkHaproxyConfig, checkKeepalivedConfig, checkNginxConfig, type HostFacts, type ProgramResult } from './validators';

export interface UnitState {
  active: boolean;
  /** sha256 of the config the running service loaded last. */
  loadedSha256?: string;
  /** What the loaded haproxy.cfg answers on GET /autok8s/config (core/render/haproxy-identity.ts). */
  configAnswer?: string;
  reloads: number;
}

export interface HostFilesystem {
  rootDir: string;
  /** Config file each unit reads on reload (defaults: Debian paths). */
  unitConfig: Record<string, string>;
  units: Map<string, UnitState>;
  /** Network interfaces of the host (keepalived -t refuses a config naming another). */
  interfaces: string[];
  /** Addresses keepalived added (virtual_ipaddress while MASTER), which `ip addr` lists. */
  addresses?: { dev: string; cidr: string }[];
  /** Told when systemctl starts or stops a unit: the sandbox's keepalived model follows the unit. */
  onUnitActive?: (unit: string, active: boolean) => void;
}

export interface CommandOutcome extends ProgramResult {
  /** Set for commands that change something or judge a config: what the audit log records. */
  audit?: { action: string; target: string };
}

const ok = (stdout = '', audit?: CommandOutcome['audit']): CommandOutcome => ({ code: 0, stdout, stderr: '', audit });
const err = (code: number, stderr: string, audit?: CommandOutcome['audit']): CommandOutcome => ({ code, stdout: '', stderr: stderr.endsWith('\n') ? stderr : `${stderr}\n`, audit });

/**
 * A fresh Debian LB VM: HAProxy and Nginx run on their package defaults (their postinst
 * starts them), keepalived does not (its unit has ConditionFileNotEmpty=
 * /etc/keepalived/keepalived.conf and the package ships no such file; docs/contracts.md §D.4).
 */
export function defaultUnits(): Map<string, UnitState> {
  return new Map(Object.keys(LB_CONFIG_PATHS).map((unit) => [unit, { active: unit !== 'keepalived', reloads: 0 }]));
}

/** The program's check of a config, with what it looks up on the host (directories, users, interfaces) answered from this host. */
export function checkConfig(program: 'haproxy' | 'nginx' | 'keepalived', text: string, file: string, fs: HostFilesystem): ProgramResult {
  const facts: HostFacts = {
    dirExists: (p) => statSync(hostPath(fs, p), { throwIfNoEntry: false })?.isDirectory() === true,
    users: DEBIAN_LB_USERS,
    interfaces: fs.interfaces,
  };
  return { haproxy: checkHaproxyConfig, nginx: checkNginxConfig, keepalived: checkKeepalivedConfig }[program](text, file, facts);
}

/** Maps a path on the simulated host to the real one under rootDir; refuses escapes. */
export function hostPath(fs: HostFilesystem, path: string): string {
  const normalized = posix.resolve('/', path);
  const real = resolve(fs.rootDir, `.${normalized}`);
  if (real !== resolve(fs.rootDir) && !real.startsWith(resolve(fs.rootDir) + sep)) throw new Error(`path ${path} escapes the host root`);
  return real;
}

/** Drops "--" and the flags a command accepts without changing its meaning here. */
function operands(args: string[], allowedFlags: string[]): string[] | string {
  const out: string[] = [];
  let endOfFlags = false;
  for (const a of args) {
    if (!endOfFlags && a === '--') endOfFlags = true;
    else if (!endOfFlags && a.startsWith('-') && a !== '-') {
      if (!allowedFlags.includes(a)) return `invalid option -- '${a.replace(/^-+/, '')}'`;
    } else out.push(a);
  }
  return out;
}

// lstat: like the real mv and rm, these act on a symbolic link itself, dangling or not.
const exists = (p: string) => lstat(p).then(() => true, () => false);
const noSuch = (program: string, path: string, verb = "cannot stat") => err(1, `${program}: ${verb} '${path}': No such file or directory`);

export async function runCommand(argv: string[], stdin: Buffer, fs: HostFilesystem): Promise<CommandOutcome> {
  const [program, ...args] = argv;
  const at = (p: string) => hostPath(fs, p);
  switch (program) {
    case 'env': {
      // env VAR=value ... program args: the variables do not change what these stand-ins do.
      const rest = args.filter((a, i) => !(/^[A-Za-z_][A-Za-z0-9_]*=/.test(a) && args.slice(0, i).every((b) => b.includes('='))));
      return rest.length === 0 ? ok() : runCommand(rest, stdin, fs);
    }
    case 'true':
      return ok();
    case 'false':
      return { code: 1, stdout: '', stderr: '' };
    case 'echo':
      return ok(`${args.join(' ')}\n`);
    case 'test': {
      const [flag, path] = args;
      if (!['-e', '-f'].includes(flag) || path === undefined) return err(2, `test: unsupported expression: ${args.join(' ')}`);
      const st = await stat(at(path)).catch(() => undefined);
      return { code: st && (flag === '-e' || st.isFile()) ? 0 : 1, stdout: '', stderr: '' };
    }
    case 'sha256sum': {
      const files = operands(args, []);
      if (typeof files === 'string') return err(1, `sha256sum: ${files}`);
      let stdout = '';
      let stderr = '';
      for (const f of files) {
        const data = await readFile(at(f)).catch(() => undefined);
        if (data === undefined) stderr += `sha256sum: ${f}: No such file or directory\n`;
        else stdout += `${createHash('sha256').update(data).digest('hex')}  ${f}\n`;
      }
      return { code: stderr ? 1 : 0, stdout, stderr };
    }
    case 'cat': {
      const files = operands(args, []);
      if (typeof files === 'string') return err(1, `cat: ${files}`);
      let stdout = '';
      for (const f of files) {
        const data = await readFile(at(f), 'utf8').catch(() => undefined);
        if (data === undefined) return err(1, `cat: ${f}: No such file or directory`);
        stdout += data;
      }
      return ok(stdout);
    }
    case 'dd': {
      const of = args.find((a) => a.startsWith('of='))?.slice(3);
      if (!of || args.some((a) => !a.startsWith('of=') && a !== 'status=none')) return err(1, `dd: only "dd of=<file> status=none" is supported here`);
      try {
        await writeFile(at(of), stdin);
      } catch {
        return err(1, `dd: failed to open '${of}': No such file or directory`, { action: 'upload', target: of });
      }
      return ok('', { action: 'upload', target: of });
    }
    case 'chmod': {
      const [mode, ...rest] = args;
      const files = operands(rest, []);
      if (!/^0?[0-7]{3}$/.test(mode ?? '') || typeof files === 'string' || files.length === 0) return err(1, `chmod: unsupported arguments: ${args.join(' ')}`);
      for (const f of files) {
        if (!(await exists(at(f)))) return noSuch('chmod', f, 'cannot access');
        await chmod(at(f), parseInt(mode, 8));
      }
      return ok('', { action: 'chmod', target: files.join(' ') });
    }
    case 'cp': {
      const files = operands(args, ['-p']);
      if (typeof files === 'string' || files.length !== 2) return err(1, `cp: unsupported arguments: ${args.join(' ')}`);
      const [from, to] = files;
      const st = await stat(at(from)).catch(() => undefined);
      if (!st) return noSuch('cp', from);
      await copyFile(at(from), at(to));
      if (args.includes('-p')) {
        await chmod(at(to), st.mode & 0o7777);
        await utimes(at(to), st.atime, st.mtime);
      }
      return ok('', { action: 'copy', target: `${from} -> ${to}` });
    }
    case 'mv': {
      const files = operands(args, ['-f']);
      if (typeof files === 'string' || files.length !== 2) return err(1, `mv: unsupported arguments: ${args.join(' ')}`);
      const [from, to] = files;
      if (!(await exists(at(from)))) return noSuch('mv', from);
      await rename(at(from), at(to));
      return ok('', { action: 'rename', target: `${from} -> ${to}` });
    }
    case 'rm': {
      const files = operands(args, ['-f']);
      if (typeof files === 'string') return err(1, `rm: ${files}`);
      for (const f of files) {
        const present = await exists(at(f));
        if (!present && !args.includes('-f')) return err(1, `rm: cannot remove '${f}': No such file or directory`);
        await rm(at(f), { force: true });
      }
      return ok('', { action: 'remove', target: files.join(' ') });
    }
    case 'touch':
      return touch(args, at);
    case 'ln':
      return ln(args, at);
    case 'readlink':
      return readlinkCommand(args, at);
    case 'stat':
      return statCommand(args, at);
    case 'date':
      return dateCommand(args);
    case 'haproxy':
    case 'nginx':
    case 'keepalived':
      return validateWith(program, args, fs);
    case 'systemctl':
      return systemctl(args, fs);
    case 'ip':
      return ipCommand(args, fs);
    default:
      return err(127, `sh: 1: ${program}: not found`);
  }
}

/** `haproxy -c -f F`, `nginx -t [-q] [-p P] [-e E] -c F`, `keepalived -t [-l] -f F`. */
async function validateWith(program: 'haproxy' | 'nginx' | 'keepalived', args: string[], fs: HostFilesystem): Promise<CommandOutcome> {
  const spec = { haproxy: { test: '-c', file: '-f', flags: ['-q'], valued: [] }, nginx: { test: '-t', file: '-c', flags: ['-q'], valued: ['-p', '-e', '-g'] }, keepalived: { test: '-t', file: '-f', flags: ['-l'], valued: [] } }[program] as {
    test: string;
    file: string;
    flags: string[];
    valued: string[];
  };
  let file: string | undefined;
  let testMode = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === spec.test) testMode = true;
    else if (a === spec.file) file = args[++i];
    else if (spec.valued.includes(a)) i++;
    else if (!spec.flags.includes(a)) return err(1, `${program}: option ${a} is not supported by the in-process LB host`);
  }
  if (!testMode || file === undefined) return err(1, `${program}: only the config test (${spec.test} ${spec.file} <file>) runs on the in-process LB host; reload through systemctl`);
  const audit = { action: `validate:${program}`, target: file };
  const text = await readFile(hostPath(fs, file), 'utf8').catch(() => undefined);
  if (text === undefined) {
    const messages = {
      haproxy: `[ALERT]    (1) : Cannot open configuration file/directory ${file} : No such file or directory`,
      nginx: `nginx: [emerg] open() "${file}" failed (2: No such file or directory)\nnginx: configuration file ${file} test failed`,
      keepalived: `Configuration file '${file}' is not a regular non-executable file`,
    };
    return err(program === 'keepalived' ? 3 : 1, messages[program], audit);
  }
  return { ...checkConfig(program, text, file, fs), audit };
}
