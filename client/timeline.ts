// Rendering a workflow's steps as a timeline table (step, start offset, duration, detail).
import type { StepRecord } from '../workflows/progress';
import { formatMs } from './commands/common';

export function renderTimeline(steps: readonly StepRecord[], origin = steps[0]?.startedAt ?? 0): string {
  const rows = steps.map((s) => [s.name, `+${formatMs(s.startedAt - origin)}`, formatMs(s.durationMs), s.status, s.detail ?? '']);
  const header = ['step', 'start', 'duration', 'status', 'detail'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
