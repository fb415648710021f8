// Building the command line an SSH `exec` request carries.
//
// Why quoting at all: SSH has no argv. An exec request carries one string, and sshd hands
// it to the remote user's login shell (`$SHELL -c "<string>"`). Every argument must
// therefore be quoted so that the shell gives it back unchanged, whatever it contains.
// Why hand-written: POSIX single quotes are the whole rule (everything inside is literal;
// a single quote is written as '\''), it is five lines, and the in-process sandbox host
// parses exactly this form back (sandbox/lbhost/shell-words.ts). The `shell-escape` package
// that node-ssh pulls in is not a dependency of ours.

/** Characters that never need quoting in a POSIX shell word. */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(arg: string): string {
  if (arg !== '' && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** One shell command line that runs `argv` exactly (no globbing, no expansion, no word splitting). */
export function shellCommand(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty argv is not a command');
  return argv.map(shellQuote).join(' ');
}
