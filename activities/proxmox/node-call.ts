// One activity's call on a server's Proxmox node: the client built for it and what it acts for.
import type { ClusterSpec, ServerSpec } from '../../core/spec/schema';
import type { ProxmoxClient } from './client';
import type { ProxmoxTarget } from './errors';

export interface NodeCall {
  client: ProxmoxClient;
  spec: ClusterSpec;
  server: ServerSpec;
  target: ProxmoxTarget;
  signal?: AbortSignal;
}
