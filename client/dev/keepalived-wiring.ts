// keepalived's notify scripts for the local stack's sandbox (`autok8s dev`, the demo): the
// sandbox's VRRP model (sandbox/vrrp-sim.ts) runs the notify lines of the keepalived.conf
// bootstrap pushes, through the same start functions as the CLI (client/keepalived-notify.ts),
// so a takeover raises the new MASTER's public link and moves the IP as on real LB VMs. The
// LBs' keepalived starts when bootstrap pushes its config (systemctl on the LB host), as on a
// fresh Debian VM, not before: a notify before the cluster exists would have nothing to act on.
import { Client, type DataConverter } from '@temporalio/client';
import { createActivities } from '../../activities';
import { TASK_QUEUE } from '../../core/workflow-ids';
import type { Sandbox } from '../../sandbox';
import { keepalivedNotifyHook } from '../keepalived-notify';
import { openConnection } from '../connection';
import { localTemporalConnection } from '../temporal-connection';
import { knownSpecs, refOf } from '../../activities/spec/known-specs';

/** Wires the sandbox's keepalived notify lines to the stack's Temporal; returns what closes the client. */
export async function wireKeepalivedNotify(box: Sandbox, address: string, dataConverter: DataConverter, log: (line: string) => void): Promise<() => Promise<void>> {
  const connection = await openConnection(localTemporalConnection(address), 5_000);
  const client = new Client({ connection, dataConverter });
  // Each LB's public route goes through its server's gateway, as bootstrap reads it from OVH.
  const activities = createActivities({ specs: knownSpecs(box.spec), policy: box.workerPolicy });
  const gateways: Record<string, string | null> = {};
  for (const s of box.spec.servers) gateways[s.name] = (await activities.readServerNetworkFacts(refOf(box.spec), s.ovhService)).gateway;
  const hook = keepalivedNotifyHook({ spec: box.spec, client, taskQueue: TASK_QUEUE, gateways });
  box.vrrp.onNotify(async (server, event) => {
    try {
      await hook(server, event);
    } catch (err) {
      log(`keepalived notify_${event} on ${server}: ${(err as Error).message.split('\n')[0]}`);
    }
  });
  return () => connection.close();
}
