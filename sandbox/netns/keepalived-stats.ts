// keepalived's own counters (what it writes to $TMPDIR/keepalived.stats on SIGUSR2): how many
// adverts a member received and sent, and how often it became MASTER. Tests read these to
// say what happened between two moments ("it heard five adverts and never became MASTER")
// instead of sleeping and sampling who holds the VIP.

export interface VrrpInstanceStats {
  instance: string;
  advertsReceived: number;
  advertsSent: number;
  becameMaster: number;
  releasedMaster: number;
  priorityZeroReceived: number;
  priorityZeroSent: number;
}

/**
 * Pure: the text of keepalived.stats → one record per VRRP instance; undefined while the
 * text is incomplete (keepalived may still be writing it).
 */
export function parseKeepalivedStats(text: string): VrrpInstanceStats[] | undefined {
  const blocks = text.split(/^(?=VRRP Instance: )/m).filter((b) => b.startsWith('VRRP Instance: '));
  if (blocks.length === 0) return undefined;
  const out: VrrpInstanceStats[] = [];
  for (const block of blocks) {
    const instance = /^VRRP Instance: (\S+)/.exec(block)![1];
    const section = (name: string) => new RegExp(`^ {2}${name}:\\n((?: {4}.*\\n?)*)`, 'm').exec(block)?.[1];
    const field = (text: string | undefined, name: string) => {
      const m = text === undefined ? null : new RegExp(`^\\s*${name}: (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const adverts = section('Advertisements');
    const zero = section('Priority Zero');
    const record = {
      instance,
      advertsReceived: field(adverts, 'Received'),
      advertsSent: field(adverts, 'Sent'),
      becameMaster: field(block, ' {2}Became master'),
      releasedMaster: field(block, ' {2}Released master'),
      priorityZeroReceived: field(zero, 'Received'),
      priorityZeroSent: field(zero, 'Sent'),
    };
    if (Object.values(record).some((v) => v === undefined)) return undefined;
    out.push(record as VrrpInstanceStats);
  }
  return out;
}
