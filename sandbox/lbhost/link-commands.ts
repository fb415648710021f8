// The programs the push lock and the push's backups use on the in-process LB host: `ln`
// (hard and symbolic links), `readlink`, `stat -c %Y`, `date +%s` and `touch -h -c`.
// Outputs, messages and exit codes are those of GNU coreutils on Debian; forms beyond the
// ones listed are refused (exit 1) rather than approximated.
import { link, lstat, lutimes, open, readlink, symlink } from 'node:fs/promises';
import { posix } from 'node:path';
import type { CommandOutcome } from './commands';

type At = (path: string) => string;

const ok = (stdout = '', audit?: CommandOutcome['audit']): CommandOutcome => ({ code: 0, stdout, stderr: '', audit });
const fail = (code: number, stderr: string): CommandOutcome => ({ code, stdout: '', stderr: `${stderr}\n` });

/** Splits `args` into the single-letter flags given (possibly bundled, "-sT") and operands; undefined on an unknown flag. */
function parse(args: string[], allowed: string): { flags: Set<string>; operands: string[] } | string {
  const flags = new Set<string>();
  const operands: string[] = [];
  let endOfFlags = false;
  for (const a of args) {
    if (!endOfFlags && a === '--') endOfFlags = true;
    else if (!endOfFlags && a.startsWith('-') && a.length > 1) {
      for (const f of a.slice(1)) {
        if (!allowed.includes(f)) return `invalid option -- '${f}'`;
        flags.add(f);
      }
    } else operands.push(a);
  }
  return { flags, operands };
}

const errnoText: Record<string, string> = { EEXIST: 'File exists', ENOENT: 'No such file or directory', ENOTDIR: 'Not a directory', EACCES: 'Permission denied' };
const why = (e: unknown) => errnoText[(e as NodeJS.ErrnoException).code ?? ''] ?? (e as Error).message;

/** `ln [-s] [-T] [--] SOURCE DEST` */
export async function ln(args: string[], at: At): Promise<CommandOutcome> {
  const p = parse(args, 'sT');
  if (typeof p === 'string') return fail(1, `ln: ${p}`);
  if (p.operands.length !== 2) return fail(1, `ln: only "ln [-s] [-T] SOURCE DEST" is supported by the in-process LB host`);
  const [source, named] = p.operands;
  const symbolic = p.flags.has('s');
  // A symbolic link pointing outside the host root would lead the stand-in programs out of it.
  if (symbolic && (posix.isAbsolute(source) || source.split('/').includes('..'))) {
    return fail(1, `ln: the in-process LB host only makes symbolic links to plain names, not to ${source}`);
  }
  let dest = named;
  if (!p.flags.has('T')) {
    const st = await lstat(at(named)).catch(() => undefined);
    if (st?.isDirectory()) dest = posix.join(named, posix.basename(source));
  }
  const kind = symbolic ? 'symbolic link' : 'hard link';
  if (!symbolic && !(await lstat(at(source)).catch(() => undefined))) return fail(1, `ln: failed to access '${source}': No such file or directory`);
  try {
    if (symbolic) await symlink(source, at(dest));
    else await link(at(source), at(dest));
  } catch (e) {
    return fail(1, `ln: failed to create ${kind} '${dest}': ${why(e)}`);
  }
  return ok('', { action: symbolic ? 'symlink' : 'link', target: `${dest} -> ${source}` });
}

/** `readlink [--] FILE...`: the target of each symbolic link; exit 1, silently, for anything else. */
export async function readlinkCommand(args: string[], at: At): Promise<CommandOutcome> {
  const p = parse(args, '');
  if (typeof p === 'string') return fail(1, `readlink: ${p}`);
  if (p.operands.length === 0) return fail(1, 'readlink: missing operand');
  let stdout = '';
  let code = 0;
  for (const f of p.operands) {
    const target = await readlink(at(f)).catch(() => undefined);
    if (target === undefined) code = 1;
    else stdout += `${target}\n`;
  }
  return { code, stdout, stderr: '' };
}

/** `stat -c %Y [--] FILE...`: seconds since the epoch of the last modification, of the link itself. */
export async function statCommand(args: string[], at: At): Promise<CommandOutcome> {
  const formatAt = args.indexOf('-c');
  if (formatAt < 0 || args[formatAt + 1] !== '%Y') return fail(1, 'stat: only "stat -c %Y FILE" is supported by the in-process LB host');
  const p = parse([...args.slice(0, formatAt), ...args.slice(formatAt + 2)], '');
  if (typeof p === 'string') return fail(1, `stat: ${p}`);
  if (p.operands.length === 0) return fail(1, 'stat: missing operand');
  let stdout = '';
  let stderr = '';
  for (const f of p.operands) {
    const st = await lstat(at(f)).catch(() => undefined);
    if (!st) stderr += `stat: cannot statx '${f}': No such file or directory\n`;
    else stdout += `${Math.floor(st.mtimeMs / 1000)}\n`;
  }
  return { code: stderr ? 1 : 0, stdout, stderr };
}

/** `date +%s` */
export function dateCommand(args: string[]): CommandOutcome {
  if (args.length !== 1 || args[0] !== '+%s') return fail(1, 'date: only "date +%s" is supported by the in-process LB host');
  return ok(`${Math.floor(Date.now() / 1000)}\n`);
}

/** `touch [-c] [-h] [--] FILE...`: -c creates nothing, -h sets the time of a symbolic link itself. */
export async function touch(args: string[], at: At): Promise<CommandOutcome> {
  const p = parse(args, 'ch');
  if (typeof p === 'string') return fail(1, `touch: ${p}`);
  if (p.operands.length === 0) return fail(1, 'touch: missing file operand');
  const created: string[] = [];
  for (const f of p.operands) {
    const st = await lstat(at(f)).catch(() => undefined);
    const now = new Date();
    try {
      if (st && p.flags.has('h')) await lutimes(at(f), now, now);
      else if (st || !p.flags.has('c')) {
        // Like touch(1): open for writing (creating it unless -c), then set both times.
        await (await open(at(f), 'a')).close();
        await lutimes(at(f), now, now);
        if (!st) created.push(f);
      }
    } catch (e) {
      return fail(1, `touch: cannot touch '${f}': ${why(e)}`);
    }
  }
  // Refreshing a time changes nothing worth an audit entry; creating a file does.
  return ok('', created.length > 0 ? { action: 'touch', target: created.join(' ') } : undefined);
}
