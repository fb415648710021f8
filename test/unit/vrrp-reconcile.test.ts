// The split-brain reconcile (core/policies/vrrp-reconcile.ts): the failover IP goes back to the
// VRRP MASTER's server once per mismatch, and only on a clear picture.
import { describe, expect, it } from 'vitest';
import type { NodeObservation } from '../../core/policies/remediation';
import { decideReconcile, type ReconcileFacts, type VrrpObservation } from '../../core/policies/vrrp-reconcile';

const IP = '203.0.113.10';
const lb = (server: string, healthy = true): NodeObservation => ({ server, role: 'lb', healthy, detail: healthy ? 'ok' : 'unreachable' });
const vrrp = (...masters: (string | null)[]): VrrpObservation[] => ['srv-a', 'srv-b', 'srv-c'].map((server, i) => ({ server, master: masters[i] === null ? null : masters.includes(server) }));

function facts(edit: Partial<ReconcileFacts> = {}): ReconcileFacts {
  return { failover: [{ ip: IP, routedTo: 'srv-b' }], nodes: [lb('srv-a'), lb('srv-b'), lb('srv-c')], vrrp: vrrp('srv-a'), reconciled: {}, moving: [], ...edit };
}

describe('decideReconcile', () => {
  it.each<[string, ReconcileFacts, string[], Record<string, string>]>([
    ['an IP routed to a BACKUP while a healthy MASTER exists moves back to the MASTER, with reason reconcile', facts(), [`failover ${IP} srv-b→srv-a reconcile`], { [IP]: 'srv-b→srv-a' }],
    ['the same mismatch in the next pass is reported, not moved again', facts({ reconciled: { [IP]: 'srv-b→srv-a' } }), [`split-brain ${IP}`], { [IP]: 'srv-b→srv-a' }],
    ['a new mismatch after an earlier one is repaired once more', facts({ failover: [{ ip: IP, routedTo: 'srv-c' }], reconciled: { [IP]: 'srv-b→srv-a' } }), [`failover ${IP} srv-c→srv-a reconcile`], { [IP]: 'srv-c→srv-a' }],
    ['an IP on the MASTER needs nothing, and its memory is dropped', facts({ failover: [{ ip: IP, routedTo: 'srv-a' }], reconciled: { [IP]: 'srv-b→srv-a' } }), [], {}],
    ['two MASTERs: a split brain under way, reported and left to settle', facts({ vrrp: vrrp('srv-a', 'srv-b') }), [`split-brain ${IP}`], {}],
    ['no MASTER at all: nothing to reconcile to', facts({ vrrp: vrrp() }), [], {}],
    ['an LB that could not be looked at might be a second MASTER: no decision', facts({ vrrp: vrrp('srv-a', null) }), [], {}],
    ['no VRRP look in the pass (vrack-block, or an older worker): no decision', facts({ vrrp: [] }), [], {}],
    ['a MASTER whose HAProxy is down is not where the IP belongs', facts({ nodes: [lb('srv-a', false), lb('srv-b'), lb('srv-c')] }), [], {}],
    ['an IP the LB-down rule moves in this pass is left to it', facts({ moving: [IP] }), [], {}],
    ['a parked IP goes to the MASTER', facts({ failover: [{ ip: IP, routedTo: null }] }), [`failover ${IP} nowhere→srv-a reconcile`], { [IP]: 'nowhere→srv-a' }],
  ])('%s', (_name, f, expected, memory) => {
    const { actions, reconciled } = decideReconcile(f);
    expect(actions.map((a) => (a.kind === 'failover' ? `failover ${a.ip} ${a.from ?? 'nowhere'}→${a.to} ${a.reason}` : `${a.kind} ${'ip' in a ? a.ip : ''}`))).toEqual(expected);
    expect(reconciled).toEqual(memory);
  });
});
