// Reading back the command lines the SSH push sends (activities/ssh/shell-quote.ts): plain
// words and POSIX single-quoted words, glued together. The in-process LB host has no shell,
// so anything else a real shell would interpret (pipes, redirects, $, `, globs, double
// quotes, backslash escapes) is refused rather than guessed at: a push that needs a shell
// must not pass here and then behave differently on a real host.

export class UnsupportedShellSyntax extends Error {}

const PLAIN = /[A-Za-z0-9_@%+=:,./-]/;

export function parseShellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === ' ' || ch === '\t') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new UnsupportedShellSyntax(`unterminated single quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (ch === '\\' && line[i + 1] === "'") {
      // The '\'' idiom: close quote, escaped quote, reopen quote.
      word = (word ?? '') + "'";
      i += 1;
    } else if (PLAIN.test(ch)) {
      word = (word ?? '') + ch;
    } else {
      throw new UnsupportedShellSyntax(`shell syntax ${JSON.stringify(ch)} is not supported by the in-process LB host (it runs argv only): ${line}`);
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
