// Looking at a cluster without changing it, for `autok8s status` and `autok8s plan`: the
// same adapters the workflows use, called directly with read-only calls only (the CLI
// resolves the spec's secret references where it runs, like a worker would).
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { createOvhActivities } from '../activities/ovh/activities';
import { createProxmoxActivities } from '../activities/proxmox/activities';
import { createSecretResolver } from '../activities/secrets';
import { createSshActivities } from '../activities/ssh/activities';
import { createTalosActivities } from '../activities/talos/activities';
import { STATE_FILES, StateStore } from '../activities/talos/state-store';
import type { ObservedCluster } from '../core/plan/bootstrap-plan';
import { LB_CONFIG_PATHS, lbConfigFiles } from '../core/render/lb-files';
import type { ClusterSpec } from '../core/spec/schema';
import { policyFromEnv, policyProblems, type WorkerPolicy } from '../core/spec/worker-policy';
import { UsageError } from './errors';
import { VM_ROLES } from '../core/spec/schema';

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];
const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * The CLI reads with the same policy a worker would (core/spec/worker-policy.ts, from this
 * process's environment): a spec reaching outside it is refused before any connection.
 */
export function assertSpecWithinPolicy(spec: ClusterSpec, policy: WorkerPolicy): void {
  const problems = policyProblems(spec, policy, homedir());
  if (problems.length > 0) {
    throw new UsageError(`the spec reaches outside what this machine's policy allows, so nothing was read or sent:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
  }
}

export async function observeCluster(spec: ClusterSpec, policy: WorkerPolicy = policyFromEnv(process.env)): Promise<ObservedCluster> {
  assertSpecWithinPolicy(spec, policy);
  const secrets = createSecretResolver(process.env, policy);
  const ovh = createOvhActivities({ secrets });
  const proxmox = createProxmoxActivities({ secrets });
  const talos = createTalosActivities();
  const ssh = createSshActivities({ secrets });
  const store = StateStore.forCluster(spec);

  const [vrackMembers, vms, failover, talosFiles, lbFiles] = await Promise.all([
    ovh.listVrackMembers(spec.ovh).catch((err) => ({ error: message(err) })),
    Promise.all(
      spec.servers.flatMap((server) =>
        VM_ROLES.filter((role) => server.vms[role]).map(async (role) => {
          const vmid = server.vms[role]!.vmid;
          try {
            const s = await proxmox.vmStatus(spec, server.name, role);
            return { server: server.name, role, vmid, exists: s.exists, owned: s.owned, status: s.status };
          } catch (err) {
            return { server: server.name, role, vmid, exists: false, owned: false, error: message(err) };
          }
        }),
      ),
    ),
    Promise.all(
      spec.failoverIps.map(async (ip) => {
        try {
          const r = await ovh.getIpRouting(spec.ovh, ip);
          return { ip, routedTo: spec.servers.find((s) => s.ovhService === r.routedTo)?.name ?? r.routedTo };
        } catch (err) {
          return { ip, routedTo: null, error: message(err) };
        }
      }),
    ),
    Promise.all([store.exists(STATE_FILES.secrets), store.exists(STATE_FILES.talosconfig), store.exists(STATE_FILES.kubeconfig)]),
    observeLbFiles(),
  ]);

  /**
   * Each LB's files as rendered now against what the LB carries. keepalived.conf holds the
   * server's public gateway, read from OVH as bootstrap reads it; a server whose facts cannot
   * be read (or a file that cannot be rendered without them) is reported, not guessed.
   */
  async function observeLbFiles(): Promise<ObservedCluster['lbFiles']> {
    const gateways = await Promise.all(spec.servers.map((s) => ovh.readServerNetworkFacts(spec.ovh, s.ovhService).then((f) => f.gateway, () => null)));
    return Promise.all(
      spec.servers.flatMap((server) => {
        let files;
        try {
          files = lbConfigFiles(spec, server.name, { gateways });
        } catch (err) {
          const detail = `not rendered: ${message(err)}`;
          return Object.values(LB_CONFIG_PATHS).map((path) => Promise.resolve({ server: server.name, path, state: 'unreachable' as const, detail }));
        }
        return files.map(async (file) => {
          try {
            const remote = await ssh.readLbConfigFile({ server, path: file.path, cluster: spec });
            const state = remote === null ? 'missing' : sha(remote) === sha(file.content) ? 'same' : 'differs';
            return { server: server.name, path: file.path, state } as const;
          } catch (err) {
            return { server: server.name, path: file.path, state: 'unreachable' as const, detail: message(err) };
          }
        });
      }),
    );
  }

  let etcdMembers: string[] | { error: string } = { error: 'no talosconfig in the state store yet' };
  if (talosFiles[1]) {
    const via = vms.find((vm) => vm.role === 'controlPlane' && vm.status === 'running')?.server;
    if (via) {
      try {
        const { members } = await talos.etcdMembers(spec, via);
        etcdMembers = members.map((m) => m.server ?? m.hostname);
      } catch (err) {
        etcdMembers = { error: message(err) };
      }
    } else {
      etcdMembers = { error: 'no running control plane to ask' };
    }
  }
  return {
    vrackMembers,
    vms,
    talos: { secrets: talosFiles[0], talosconfig: talosFiles[1], kubeconfig: talosFiles[2], etcdMembers },
    lbFiles,
    failover,
  };
}
