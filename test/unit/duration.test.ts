import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../core/spec/duration';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
  ])('reads %s as %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it('refuses a duration without a unit and says how to write one', () => {
    expect(() => parseDuration('30')).toThrow(/write e.g. 500ms, 30s/);
  });
});
