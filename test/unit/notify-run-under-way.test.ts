// A keepalived notify run is under way until its wrapper writes its exit line, or until the
// wrapper shell is gone (keepalived ends the scripts it started when it stops).
import { describe, expect, it } from 'vitest';
import { runUnderWay } from '../../sandbox/netns/notify-scripts';

const file = '/run/ak8s-netns/ab12/notify/1796547550148000000-4242.log';

describe('runUnderWay', () => {
  it.each([
    ['a run that wrote its exit line is over, whatever its wrapper', { file, code: 0 }, true, false],
    ['a run without an exit line whose wrapper lives is under way', { file, code: undefined }, true, true],
    ['a run without an exit line whose wrapper is gone is over', { file, code: undefined }, false, false],
  ])('%s', (_name, run, alive, expected) => {
    const asked: number[] = [];
    expect(runUnderWay(run, (pid) => (asked.push(pid), alive))).toBe(expected);
    if (run.code === undefined) expect(asked).toEqual([4242]);
  });
});
