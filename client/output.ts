// Terminal output that behaves: colours only on a TTY without NO_COLOR, and a single JSON
// document on stdout with --output json so scripts can parse it.
export type OutputFormat = 'text' | 'json';

export interface Output {
  format: OutputFormat;
  color: boolean;
  /** A line of human text (suppressed in JSON mode, where only the result is printed). */
  info(line: string): void;
  /** The command's result: JSON document in json mode, else rendered by `text`. */
  result(value: unknown, text: (value: any) => string): void;
  paint: { green(s: string): string; red(s: string): string; dim(s: string): string; bold(s: string): string; yellow(s: string): string };
}

export function createOutput(format: OutputFormat, stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): Output {
  const color = format === 'text' && stream.isTTY === true && !env.NO_COLOR;
  const wrap = (code: number, reset: number) => (s: string) => (color ? `\u001b[${code}m${s}\u001b[${reset}m` : s);
  return {
    format,
    color,
    info: (line) => {
      if (format === 'text') stream.write(line + '\n');
    },
    result: (value, text) => {
      stream.write(format === 'json' ? JSON.stringify(value, null, 2) + '\n' : text(value) + '\n');
    },
    paint: { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) },
  };
}
