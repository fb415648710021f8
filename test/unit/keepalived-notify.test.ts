// The notify lines of the rendered keepalived.conf as the sandbox's keepalived runs them
// (client/keepalived-notify.ts): which commands each transition runs, parsed by the CLI's own
// definitions, and what is refused.
import { describe, expect, it } from 'vitest';
import { notifyCommandGroups, notifyCommands, notifyLines, parseNotifyCommand } from '../../client/keepalived-notify';
import { lbPublicNetwork } from '../../core/public-path/lb-network';
import { publicPathOf, type PublicPathMode } from '../../core/public-path/modes';
import { renderKeepalivedConf } from '../../core/render/keepalived';
import { loadSpecFile } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';

const fixture = loadSpecFile(`${__dirname}/../fixtures/cluster.yaml`);
const inMode = (mode: PublicPathMode): ClusterSpec => ({ ...fixture, failoverIps: ['203.0.113.10'], publicPath: { ...publicPathOf(fixture), mode, ...(mode === 'vrack-block' ? { block: '203.0.113.8/29' } : {}) } });
const linesOf = (spec: ClusterSpec) => notifyLines(renderKeepalivedConf(spec, spec.servers[1].name, { publicNetwork: lbPublicNetwork(spec, 1, { gateway: '198.51.100.254' }) }));
const words = (line: string | undefined) => (line === undefined ? [] : notifyCommands(line).map((argv) => argv.slice(1).join(' ')));

describe('the notify lines of a rendered keepalived.conf', () => {
  it('vmac: MASTER brings the public link up and moves the IP here; BACKUP, FAULT and stop bring it down', () => {
    const spec = inMode('vmac');
    const [cluster, server] = [spec.metadata.name, spec.servers[1].name];
    const lines = linesOf(spec);
    expect(words(lines.master)).toEqual([`lb link up --cluster ${cluster} --server ${server}`, `failover --cluster ${cluster} --ip 203.0.113.10 --to ${server} --reason keepalived`]);
    for (const event of ['backup', 'fault', 'stop'] as const) expect(words(lines[event])).toEqual([`lb link down --cluster ${cluster} --server ${server}`]);
  });

  it('runs the link request beside the move (one group), as `a & b; wait` runs them', () => {
    const groups = notifyCommandGroups(linesOf(inMode('vmac')).master!);
    expect(groups.map((g) => g.map((argv) => argv[1]))).toEqual([['lb', 'failover']]);
    expect(notifyCommandGroups("/bin/sh -c '/x failover --ip 1; /x failover --ip 2'").map((g) => g.length)).toEqual([1, 1]);
    expect(notifyCommandGroups('/x lb link down --server s')).toEqual([[['/x', 'lb', 'link', 'down', '--server', 's']]]);
  });

  it('vrack-block: no notify line at all (the gratuitous ARPs move the address)', () => {
    expect(linesOf(inMode('vrack-block'))).toEqual({});
  });

  it('parses each command with the CLI\'s definitions', async () => {
    const spec = inMode('routed');
    const [link, failover] = notifyCommands(linesOf(spec).master!);
    expect(await parseNotifyCommand(link)).toEqual({ kind: 'lb-link', state: 'up', options: expect.objectContaining({ cluster: spec.metadata.name, server: spec.servers[1].name }) });
    expect(await parseNotifyCommand(failover)).toEqual({ kind: 'failover', options: expect.objectContaining({ cluster: spec.metadata.name, ip: '203.0.113.10', to: spec.servers[1].name, reason: 'keepalived' }) });
  });

  it('refuses another program, another command, and a command the CLI would refuse', async () => {
    await expect(parseNotifyCommand(['/bin/rm', '-rf', '/'])).rejects.toThrow(/runs \/bin\/rm, not \/usr\/local\/bin\/autok8s/);
    await expect(parseNotifyCommand(['/usr/local/bin/autok8s', 'status', '--cluster', 'c'])).rejects.toThrow(/is "failover" or "lb link"/);
    await expect(parseNotifyCommand(['/usr/local/bin/autok8s', 'lb', 'link', 'sideways', '--server', 's'])).rejects.toThrow();
  });
});
