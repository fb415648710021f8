// Command-line parsing as talosctl's cobra/pflag does it, for the commands the stand-in
// knows: persistent flags anywhere, `--flag value` and `--flag=value`, shorthands,
// booleans that take a value only after "=", string slices split on commas, and the same
// refusals (unknown flag, missing value, wrong number of arguments). Hand-written because
// node:util parseArgs rejects `--merge=false` on a boolean and cannot split slices.

export type FlagKind = 'bool' | 'string' | 'strings' | 'stringArray';

export interface FlagSpec {
  long: string;
  short?: string;
  kind: FlagKind;
  default?: string | boolean | string[];
}

export interface CommandSpec {
  path: string[];
  flags: FlagSpec[];
  /** Positional arguments accepted (cobra ExactArgs / MaximumNArgs / NoArgs). */
  args: { min: number; max: number };
}

export type FlagValue = string | boolean | string[];

export interface ParsedCommand {
  command: CommandSpec;
  args: string[];
  flags: Record<string, FlagValue>;
  /** Flags given on the command line (as opposed to defaults). */
  given: Set<string>;
}

export class UsageError extends Error {}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { long: 'nodes', short: 'n', kind: 'strings', default: [] },
  { long: 'endpoints', short: 'e', kind: 'strings', default: [] },
  { long: 'talosconfig', kind: 'string', default: '' },
  { long: 'context', kind: 'string', default: '' },
  { long: 'cluster', kind: 'string', default: '' },
];

const takesValue = (f: FlagSpec) => f.kind !== 'bool';

function parseBool(text: string, flag: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(text)) return false;
  throw new UsageError(`invalid argument ${JSON.stringify(text)} for "${flag}" flag: strconv.ParseBool: parsing ${JSON.stringify(text)}: invalid syntax`);
}

/** Finds the command from the non-flag words before its own flags. */
function findCommand(argv: string[], commands: CommandSpec[]): { command: CommandSpec; words: number[] } {
  const words: number[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const token = argv[i];
    if (token === '--') break;
    if (token.startsWith('-') && token !== '-') {
      const global = token.startsWith('--')
        ? GLOBAL_FLAGS.find((f) => f.long === token.slice(2))
        : token.length === 2
          ? GLOBAL_FLAGS.find((f) => f.short === token[1])
          : undefined;
      if (global && takesValue(global)) i += 1;
      continue;
    }
    words.push(i);
  }
  const named = words.map((i) => argv[i]);
  const match = commands
    .filter((c) => c.path.every((w, i) => named[i] === w))
    .sort((a, b) => b.path.length - a.path.length)[0];
  if (!match) {
    if (named.length === 0) throw new UsageError('talosctl (sandbox stand-in): no command given');
    const group = commands.find((c) => c.path[0] === named[0]);
    if (group) throw new UsageError(`unknown command ${JSON.stringify(named[1] ?? '')} for "talosctl ${named[0]}"`);
    throw new UsageError(`unknown command ${JSON.stringify(named[0])} for "talosctl"`);
  }
  return { command: match, words: words.slice(0, match.path.length) };
}

export function parseCommandLine(argv: string[], commands: CommandSpec[]): ParsedCommand {
  const { command, words } = findCommand(argv, commands);
  const specs = [...GLOBAL_FLAGS, ...command.flags];
  const flags: Record<string, FlagValue> = {};
  for (const f of specs) flags[f.long] = Array.isArray(f.default) ? [...f.default] : (f.default ?? (f.kind === 'bool' ? false : f.kind === 'string' ? '' : []));
  const given = new Set<string>();
  const args: string[] = [];

  const set = (f: FlagSpec, value: string | undefined, display: string) => {
    given.add(f.long);
    if (f.kind === 'bool') {
      flags[f.long] = value === undefined ? true : parseBool(value, display);
    } else if (value === undefined) {
      throw new UsageError(`flag needs an argument: ${display}`);
    } else if (f.kind === 'string') {
      flags[f.long] = value;
    } else {
      // pflag replaces the default on first use, then appends.
      const prior = given.has(`${f.long}#seen`) ? (flags[f.long] as string[]) : [];
      given.add(`${f.long}#seen`);
      flags[f.long] = [...prior, ...(f.kind === 'strings' ? value.split(',').filter((v) => v !== '') : [value])];
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (words.includes(i)) continue;
    if (token === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith('--')) {
      const [name, inline] = token.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const f = specs.find((s) => s.long === name);
      if (!f) throw new UsageError(`unknown flag: --${name}`);
      if (inline === undefined && takesValue(f)) {
        if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: --${name}`);
        set(f, argv[++i], `--${name}`);
      } else set(f, inline, `--${name}`);
    } else if (token.startsWith('-') && token.length > 1) {
      const letter = token[1];
      const f = specs.find((s) => s.short === letter);
      if (!f) throw new UsageError(`unknown shorthand flag: '${letter}' in ${token}`);
      const rest = token.slice(2);
      if (takesValue(f)) {
        const value = rest.startsWith('=') ? rest.slice(1) : rest !== '' ? rest : i + 1 < argv.length ? argv[++i] : undefined;
        if (value === undefined) throw new UsageError(`flag needs an argument: '${letter}' in ${token}`);
        set(f, value, `-${letter}, --${f.long}`);
      } else {
        if (rest !== '' && !rest.startsWith('=')) throw new UsageError(`unknown shorthand flag: '${rest[0]}' in ${token}`);
        set(f, rest.startsWith('=') ? rest.slice(1) : undefined, `-${letter}, --${f.long}`);
      }
    } else {
      args.push(token);
    }
  }

  const { min, max } = command.args;
  const name = `talosctl ${command.path.join(' ')}`;
  if (max === 0 && args.length > 0) throw new UsageError(`unknown command ${JSON.stringify(args[0])} for ${JSON.stringify(name)}`);
  if (min === max && args.length !== min) throw new UsageError(`accepts ${min} arg(s), received ${args.length}`);
  if (args.length > max) throw new UsageError(`accepts at most ${max} arg(s), received ${args.length}`);
  if (args.length < min) throw new UsageError(`requires at least ${min} arg(s), only received ${args.length}`);
  for (const key of [...given]) if (key.endsWith('#seen')) given.delete(key);
  return { command, args, flags, given };
}

/** Go's time.ParseDuration for the forms talosctl users write (10m, 1m30s, 500ms, 2h). */
export function parseGoDuration(text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  if (text === '0') return 0;
  let total = 0;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const match = re.exec(text);
    if (!match) throw new UsageError(`time: invalid duration ${JSON.stringify(text)}`);
    total += Number(match[1]) * units[match[2]];
    at = re.lastIndex;
  }
  if (at === 0) throw new UsageError(`time: invalid duration ${JSON.stringify(text)}`);
  return total;
}
