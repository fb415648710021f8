// Bad spec input: every problem found, each naming its field and what to write instead.
// Pure, shared by the YAML loader and the validation of specs that arrive as data.

export interface SpecProblem {
  /** Dotted field path with [i] for list items, e.g. servers[1].vms.worker.ip ("" for the whole file). */
  path: string;
  message: string;
  line?: number;
  column?: number;
}

/** Bad input: every problem found, each naming its field and what to write instead. */
export class SpecError extends Error {
  constructor(
    readonly source: string,
    readonly problems: SpecProblem[],
  ) {
    super(formatProblems(source, problems));
    this.name = 'SpecError';
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

export function formatProblems(source: string, problems: SpecProblem[]): string {
  const lines = problems.map((p) => {
    const where = p.line !== undefined ? `${source}:${p.line}:${p.column ?? 1}` : source;
    return `  ${where} ${p.path || '(document)'}: ${p.message}`;
  });
  return `invalid cluster spec (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

