// How the health pass tells keepalived's MASTER (activities/ssh/vrrp-look.ts): the API VIP in
// `ip -o -4 addr show dev eth0`, as iproute2 prints it and as the in-process LB host's stand-in
// (sandbox/lbhost/ip-command.ts) prints it.
import { describe, expect, it } from 'vitest';
import { listsAddress } from '../../activities/ssh/vrrp-look';
import type { HostFilesystem } from '../../sandbox/lbhost/commands';
import { ipCommand } from '../../sandbox/lbhost/ip-command';

// iproute2 6.1 (Debian bookworm) on a MASTER: its own address, then keepalived's VIP as secondary.
const MASTER = [
  '2: eth0    inet 10.10.0.11/24 brd 10.10.0.255 scope global eth0\\       valid_lft forever preferred_lft forever',
  '2: eth0    inet 10.10.0.100/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever',
].join('\n');
const host = (addresses: { dev: string; cidr: string }[]): HostFilesystem => ({ rootDir: '/nonexistent', unitConfig: {}, units: new Map(), interfaces: ['lo', 'eth0'], addresses });

describe('the VRRP look', () => {
  it.each([
    ['the MASTER lists the VIP', MASTER, 'eth0', '10.10.0.100', true],
    ['a BACKUP lists only its own address', MASTER.split('\n')[0], 'eth0', '10.10.0.100', false],
    ['an address on another interface does not count', MASTER.replaceAll('eth0', 'eth9'), 'eth0', '10.10.0.100', false],
    ['a longer address with the VIP as prefix does not count', MASTER.replace('10.10.0.100/', '10.10.0.1001/'), 'eth0', '10.10.0.100', false],
  ])('%s', (_name, output, iface, address, expected) => {
    expect(listsAddress(output, iface, address)).toBe(expected);
  });

  it('reads the in-process host the same way: the VIP while it holds it, not after', () => {
    const held = ipCommand(['-o', '-4', 'addr', 'show', 'dev', 'eth0'], host([{ dev: 'eth0', cidr: '10.10.0.100/24' }, { dev: 'eth1', cidr: '203.0.113.10/32' }]));
    expect(held.code).toBe(0);
    expect(listsAddress(held.stdout, 'eth0', '10.10.0.100')).toBe(true);
    expect(held.stdout).not.toContain('203.0.113.10');
    expect(listsAddress(ipCommand(['-o', '-4', 'addr', 'show', 'dev', 'eth0'], host([])).stdout, 'eth0', '10.10.0.100')).toBe(false);
  });

  it('the stand-in refuses other forms and unknown devices, as ip does', () => {
    expect(ipCommand(['addr'], host([])).code).toBe(255);
    expect(ipCommand(['-o', '-4', 'addr', 'show', 'dev', 'eth7'], host([])).stderr).toBe('Device "eth7" does not exist.\n');
  });
});
