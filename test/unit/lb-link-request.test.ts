// Which request for an LB VM's public link stands, and what a request may say.
import { describe, expect, it } from 'vitest';
import { intentProblem, type LbLinkRequest } from '../../core/intents';
import { standingLinkRequest } from '../../core/public-path/link-request';

const up = (at?: number): LbLinkRequest => ({ state: 'up', ...(at !== undefined ? { at } : {}) });
const down = (at?: number): LbLinkRequest => ({ state: 'down', ...(at !== undefined ? { at } : {}) });

describe('standingLinkRequest', () => {
  it.each([
    ['a later request replaces an earlier one', up(100), down(200), down(200)],
    ['an earlier request arriving late is ignored', down(200), up(100), down(200)],
    ['of two made at the same millisecond, the one that arrived last stands', up(100), down(100), down(100)],
    ['a request without a time is taken as the newest', up(300), down(), down()],
    ['a timed request replaces an untimed one', down(), up(1), up(1)],
  ])('%s', (_, current, incoming, expected) => {
    expect(standingLinkRequest(current, incoming)).toEqual(expected);
  });
});

describe('the lbLink intent', () => {
  it('takes a cluster, a server, a state, and optionally a reason and a time', () => {
    expect(intentProblem('lbLink', { cluster: 'prod-gra', server: 'srv-a', state: 'up', reason: 'keepalived', at: 1_700_000_000_000 })).toBeUndefined();
  });

  it.each([
    ['a state that is neither up nor down', { cluster: 'prod-gra', server: 'srv-a', state: 'sideways' }, /state: must be up or down/],
    ['no server', { cluster: 'prod-gra', state: 'up' }, /server: is required/],
    ['a spec in the input', { cluster: 'prod-gra', server: 'srv-a', state: 'up', spec: {} }, /spec: not an input of lbLink; a run uses the spec its cluster accepted/],
    ['a time that is not a whole number of milliseconds', { cluster: 'prod-gra', server: 'srv-a', state: 'up', at: 1.5 }, /at: must be a time in milliseconds/],
  ])('refuses %s, naming the field', (_, input, message) => {
    expect(intentProblem('lbLink', input)).toMatch(message);
  });

  it('refuses a request signal with a cluster in it (the run knows its own)', () => {
    expect(intentProblem('lbLinkRequest', { state: 'down', cluster: 'x' })).toMatch(/cluster: not an input of lbLinkRequest/);
  });
});
