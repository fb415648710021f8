// Parsing `talosctl etcd members`: a Go tabwriter table
//
//   NODE         ID                 HOSTNAME    PEER URLS                 CLIENT URLS               LEARNER
//   10.10.0.61   3c4f1d2a9b8e7f60   srv-a-cp    https://10.10.0.61:2380   https://10.10.0.61:2379   false
//
// (talosctl ≤ 1.8 leaves out the NODE column when no node is named). Cells are cut at the
// header's column offsets rather than split on whitespace, because a member that was
// added but has not started yet has an empty HOSTNAME and CLIENT URLS.

export interface EtcdMemberRow {
  /** The node that answered (the NODE column), when present. */
  node?: string;
  /** etcd member ID as 16 lowercase hex digits, the form `etcd remove-member` takes. */
  id: string;
  hostname: string;
  peerUrls: string[];
  clientUrls: string[];
  learner: boolean;
}

const COLUMNS = ['NODE', 'ID', 'HOSTNAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER'] as const;

export class TalosOutputError extends Error {
  constructor(what: string, detail: string) {
    super(`cannot parse ${what}: ${detail}`);
    this.name = 'TalosOutputError';
  }
}

/** Parses the table. Empty output (no members listed) gives an empty list. */
export function parseEtcdMembers(stdout: string): EtcdMemberRow[] {
  const lines = stdout.split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const headerIndex = lines.findIndex((l) => /^\s*(NODE\s+)?ID\s+HOSTNAME\s+PEER URLS\s+CLIENT URLS/.test(l));
  if (headerIndex < 0) throw new TalosOutputError('etcd members', `no header line in ${JSON.stringify(lines[0].slice(0, 80))}`);
  const header = lines[headerIndex];

  const offsets: { name: (typeof COLUMNS)[number]; start: number }[] = [];
  let from = 0;
  for (const name of COLUMNS) {
    const at = header.indexOf(name, from);
    if (at < 0) {
      if (name === 'NODE' || name === 'LEARNER') continue; // optional in some talosctl versions
      throw new TalosOutputError('etcd members', `header lacks ${name}`);
    }
    offsets.push({ name, start: at });
    from = at + name.length;
  }

  return lines.slice(headerIndex + 1).map((line) => {
    const cell = (name: (typeof COLUMNS)[number]): string | undefined => {
      const i = offsets.findIndex((o) => o.name === name);
      if (i < 0) return undefined;
      const end = i + 1 < offsets.length ? offsets[i + 1].start : undefined;
      return line.slice(offsets[i].start, end).trim();
    };
    const rawId = cell('ID') ?? '';
    if (!/^[0-9a-f]{1,16}$/i.test(rawId)) throw new TalosOutputError('etcd members', `member ID ${JSON.stringify(rawId)} is not hexadecimal in ${JSON.stringify(line)}`);
    const learner = cell('LEARNER');
    if (learner !== undefined && learner !== 'true' && learner !== 'false') {
      throw new TalosOutputError('etcd members', `LEARNER ${JSON.stringify(learner)} is neither true nor false in ${JSON.stringify(line)}`);
    }
    const list = (text: string | undefined) => (text ? text.split(',').filter((u) => u !== '') : []);
    const node = cell('NODE');
    return {
      ...(node ? { node } : {}),
      // Older talosctl printed the ID without leading zeros; remove-member accepts both.
      id: rawId.toLowerCase().padStart(16, '0'),
      hostname: cell('HOSTNAME') ?? '',
      peerUrls: list(cell('PEER URLS')),
      clientUrls: list(cell('CLIENT URLS')),
      learner: learner === 'true',
    };
  });
}

/** The IPv4 address in a member's first peer URL (https://10.10.0.61:2380 → 10.10.0.61). */
export function memberPeerIp(member: Pick<EtcdMemberRow, 'peerUrls'>): string | undefined {
  const url = member.peerUrls[0];
  if (!url) return undefined;
  const match = /^[a-z]+:\/\/([^:/\]]+)/i.exec(url);
  return match?.[1];
}
