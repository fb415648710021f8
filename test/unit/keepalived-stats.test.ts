import { describe, expect, it } from 'vitest';
import { parseKeepalivedStats } from '../../sandbox/netns/keepalived-stats';

// What keepalived 2.2.7 wrote on SIGUSR2 for a BACKUP that heard three adverts.
const BACKUP = `VRRP Instance: autok8s_api
  Advertisements:
    Received: 3
    Sent: 0
  Became master: 0
  Released master: 0
  Packet Errors:
    Length: 0
    TTL: 0
    Invalid Type: 0
    Advertisement Interval: 0
    Address List: 0
  Authentication Errors:
    Invalid Type: 0
    Type Mismatch: 0
    Failure: 0
  Priority Zero:
    Received: 1
    Sent: 0
`;

describe('parseKeepalivedStats', () => {
  it('reads adverts, MASTER transitions and priority-0 adverts of each instance, not the error counters of the same names', () => {
    expect(parseKeepalivedStats(BACKUP)).toEqual([
      { instance: 'autok8s_api', advertsReceived: 3, advertsSent: 0, becameMaster: 0, releasedMaster: 0, priorityZeroReceived: 1, priorityZeroSent: 0 },
    ]);
  });

  it('reads every instance of a file with several', () => {
    const two = BACKUP + '\n' + BACKUP.replace('autok8s_api', 'other').replace('Became master: 0', 'Became master: 2');
    expect(parseKeepalivedStats(two)?.map((s) => [s.instance, s.becameMaster])).toEqual([
      ['autok8s_api', 0],
      ['other', 2],
    ]);
  });

  it.each([
    { name: 'an empty file (not written yet)', text: '' },
    { name: 'a file cut before its priority-0 section', text: BACKUP.slice(0, BACKUP.indexOf('  Priority Zero:')) },
    { name: 'a file cut inside its priority-0 section', text: BACKUP.slice(0, BACKUP.lastIndexOf('    Sent: 0')) },
  ])('gives undefined for $name', ({ text }) => {
    expect(parseKeepalivedStats(text)).toBeUndefined();
  });
});
