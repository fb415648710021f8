// The guard that keeps the real talosctl on this machine: a spec reaches it only when every
// Talos node address is a loopback address.
import { describe, expect, it } from 'vitest';
import { nonLocalTalosAddresses, requireLocalTalosNodes } from '../../sandbox/talos/grpc/local-guard';

const server = (cp: string | undefined, worker: string) => ({
  vms: { lb: { ip: '10.10.0.11' }, ...(cp ? { controlPlane: { ip: cp } } : {}), worker: { ip: worker } },
});
type Spec = Parameters<typeof nonLocalTalosAddresses>[0];

describe('nonLocalTalosAddresses', () => {
  const cases: [string, Spec, string[]][] = [
    ['loopback control planes and workers pass (the LB address is not dialed by talosctl)', { servers: [server('127.10.0.61', '127.10.0.111')] } as unknown as Spec, []],
    ['a vRack address is named with its path', { servers: [server('10.10.0.61', '127.10.0.111')] } as unknown as Spec, ['servers[0].vms.controlPlane.ip=10.10.0.61']],
    ['a server without a control plane is checked for its worker', { servers: [server('127.10.0.61', '127.10.0.111'), server(undefined, '192.168.1.5')] } as unknown as Spec, ['servers[1].vms.worker.ip=192.168.1.5']],
    ['a look-alike that is not 127/8 is refused', { servers: [server('127.10.0.256', '1.127.0.1')] } as unknown as Spec, ['servers[0].vms.controlPlane.ip=127.10.0.256', 'servers[0].vms.worker.ip=1.127.0.1']],
  ];
  it.each(cases)('%s', (_name, spec, want) => {
    expect(nonLocalTalosAddresses(spec).map((a) => `${a.path}=${a.ip}`)).toEqual(want);
  });
});

describe('requireLocalTalosNodes', () => {
  it('refuses a spec with a non-local node, naming the address, the field and what to do', () => {
    expect(() => requireLocalTalosNodes({ servers: [server('10.10.0.61', '127.10.0.111')] } as unknown as Spec)).toThrow(
      /would dial 10\.10\.0\.61 \(servers\[0\]\.vms\.controlPlane\.ip\), which is not on this machine; .*loopback \(127\.0\.0\.0\/8\)/,
    );
  });
  it('accepts an all-loopback spec', () => {
    expect(() => requireLocalTalosNodes({ servers: [server('127.10.0.61', '127.10.0.111')] } as unknown as Spec)).not.toThrow();
  });
});
