// Parsing `talosctl version --short` (Talos 1.8):
//
//   Client:
//   Talos v1.8.3
//   Server:
//   	NODE:        10.10.0.61
//   	Tag:         v1.8.3
//   	SHA:         6494aced
//   	...
//
// With --client only the first two lines appear. Several nodes give several NODE blocks.

export interface TalosVersions {
  client?: string;
  servers: { node: string; tag: string }[];
}

export function parseVersionShort(stdout: string): TalosVersions {
  const result: TalosVersions = { servers: [] };
  let section: 'none' | 'client' | 'server' = 'none';
  let node: string | undefined;
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === 'Client:') section = 'client';
    else if (line === 'Server:') section = 'server';
    else if (section === 'client' && result.client === undefined) {
      // Short form "Talos v1.8.3"; the long form has "Tag:         v1.8.3".
      const match = /^(?:Talos|Tag:)\s+(v\S+)/.exec(line);
      if (match) result.client = match[1];
    } else if (section === 'server') {
      const nodeMatch = /^NODE:\s+(\S+)/.exec(line);
      const tagMatch = /^Tag:\s+(\S+)/.exec(line);
      if (nodeMatch) node = nodeMatch[1];
      else if (tagMatch) result.servers.push({ node: node ?? '', tag: tagMatch[1] });
    }
  }
  return result;
}
