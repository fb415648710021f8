import { Command } from 'commander';
import { loadSource } from '../project';
import { loadSpec, outputFor, outputOption, specOption } from './common';

export function statusCommand(): Command {
  const command = new Command('status')
    .description('Show what exists: vRack members, VMs, Talos state, etcd members, LB config files, failover IP routing (read-only)')
    .addHelpText('after', '\nExamples:\n  autok8s status -f cluster.yaml\n  autok8s status -f cluster.yaml --output json\n\nRuns where the spec\'s secret references resolve (like a worker).');
  specOption(command);
  outputOption(command);
  return command.action(async (o: { file: string; output: string }) => {
    const spec = loadSpec(o.file);
    const { observeCluster } = loadSource<typeof import('../observe-cluster')>('client/observe-cluster');
    const seen = await observeCluster(spec);
    const out = outputFor(o);
    out.result(seen, (s: typeof seen) => {
      const lines = [out.paint.bold(`cluster ${spec.metadata.name}`)];
      lines.push(`vRack ${spec.ovh.vrack}: ${'error' in s.vrackMembers ? `? (${s.vrackMembers.error})` : s.vrackMembers.join(', ') || 'no members'}`);
      for (const vm of s.vms) {
        const state = vm.error ? `? (${vm.error})` : !vm.exists ? 'missing' : !vm.owned ? 'NOT OURS' : (vm.status ?? '?');
        lines.push(`  ${`${vm.server}/${vm.role}`.padEnd(20)} VM ${String(vm.vmid).padEnd(6)} ${state}`);
      }
      const etcd = Array.isArray(s.talos.etcdMembers) ? s.talos.etcdMembers.join(', ') || 'none' : `? (${s.talos.etcdMembers.error})`;
      lines.push(`talos: secrets ${s.talos.secrets ? 'yes' : 'no'}, talosconfig ${s.talos.talosconfig ? 'yes' : 'no'}, kubeconfig ${s.talos.kubeconfig ? 'yes' : 'no'}; etcd members: ${etcd}`);
      for (const f of s.lbFiles) lines.push(`  ${f.server.padEnd(8)} ${f.path.padEnd(32)} ${f.state === 'same' ? 'as rendered' : f.state}${f.detail ? ` (${f.detail})` : ''}`);
      for (const f of s.failover) lines.push(`failover IP ${f.ip} → ${f.routedTo ?? 'parked'}`);
      return lines.join('\n');
    });
  });
}
