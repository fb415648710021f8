import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../activities/ssh/shell-quote';
import { parseShellWords, UnsupportedShellSyntax } from '../../sandbox/lbhost/shell-words';

const awkward = ['plain', 'a b', "it's", "''", '$HOME', '`id`', '$(id)', 'x;y', 'a|b', '*', '~', '', '"q"', 'back\\slash', 'new\nline', 'tab\there', '-n', '{file}'];

describe('shellQuote / shellCommand', () => {
  it('leaves safe words alone and quotes everything else', () => {
    expect(shellQuote('/etc/haproxy/haproxy.cfg')).toBe('/etc/haproxy/haproxy.cfg');
    expect(shellQuote('of=/x.autok8s-new')).toBe('of=/x.autok8s-new');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
  });

  it('is read back word for word by a real POSIX shell', () => {
    const line = shellCommand(['printf', '%s\\0', ...awkward]);
    const out = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(awkward);
  });

  it('is read back word for word by the in-process host parser, including random bytes as text', () => {
    expect(parseShellWords(shellCommand(awkward))).toEqual(awkward);
    for (let i = 0; i < 200; i++) {
      const words = Array.from({ length: 1 + (i % 5) }, () => randomBytes(1 + (i % 12)).toString('latin1'));
      expect(parseShellWords(shellCommand(words))).toEqual(words);
    }
  });

  it('refuses an empty argv', () => {
    expect(() => shellCommand([])).toThrow(/empty argv/);
  });
});

describe('parseShellWords (in-process host)', () => {
  it.each(['cat /etc/x | sh', 'echo $HOME', 'echo `id`', 'cat > /x', 'echo "a b"', 'ls *', "echo 'open"])('refuses shell syntax it does not run: %s', (line) => {
    expect(() => parseShellWords(line)).toThrow(UnsupportedShellSyntax);
  });
});
