// Which vRack call a server needs, from its virtual network interfaces (docs/contracts.md §A.4).
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { chooseAttachment } from '../../activities/ovh/vrack';

const SERVER = 'ns5001.ip-10-0-0.eu';
const vni = (uuid: string, mode: string, enabled = true) => ({ uuid, mode, enabled, vrack: null });

describe('chooseAttachment', () => {
  it.each([
    { name: 'a server without any virtual network interface is a legacy one', interfaces: [], want: { kind: 'legacy' } },
    { name: 'a server with a public and a vrack interface joins by the vrack one', interfaces: [vni('u-pub', 'public'), vni('u-vr', 'vrack')], want: { kind: 'interface', uuid: 'u-vr' } },
    {
      name: 'an aggregated (OLA) server joins by its vrack_aggregation interface',
      interfaces: [vni('u-pa', 'public_aggregation'), vni('u-va', 'vrack_aggregation')],
      want: { kind: 'interface', uuid: 'u-va' },
    },
    { name: 'a vrack interface is preferred to a vrack_aggregation one', interfaces: [vni('u-va', 'vrack_aggregation'), vni('u-vr', 'vrack')], want: { kind: 'interface', uuid: 'u-vr' } },
    { name: 'a disabled vrack interface is passed over for an enabled one', interfaces: [vni('u-off', 'vrack', false), vni('u-on', 'vrack')], want: { kind: 'interface', uuid: 'u-on' } },
  ])('$name', ({ interfaces, want }) => {
    expect(chooseAttachment(SERVER, interfaces)).toEqual(want);
  });

  it('a server with interfaces but none usable in vrack mode fails non-retryably, naming what it has', () => {
    let error: unknown;
    try {
      chooseAttachment(SERVER, [vni('u-pub', 'public'), vni('u-off', 'vrack', false)]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'OvhNoVrackInterface', nonRetryable: true });
    expect((error as Error).message).toMatch(/ns5001\.ip-10-0-0\.eu .*u-pub public, u-off vrack \(disabled\).*vrack mode/);
  });
});
