// Durations in the spec ("30s", "5m") as milliseconds. Pure; shared by validation,
// workflows and the CLI.
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)$/.exec(text.trim());
  if (!match) throw new Error(`${JSON.stringify(text)} is not a duration; write e.g. 500ms, 30s, 5m or 1h`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
