// IP blocks routed into a vRack (`/vrack/{sn}/ip`, docs/contracts.md §A.7): a vRack task
// routes the block to the vRack (its `routedTo` becomes the vRack, so /ip/{ip}/move refuses it),
// and the IP's virtual MAC goes, as OVH's guide says of an IP moved into the vRack.
import { vrackBlockGateway } from '../../core/public-path/modes';
import { parseCidr } from '../../core/net/ipv4';
import { badRequest, conflict, notFound, UNVERIFIED } from './errors';
import { bareIp, blockOf, isPending, type FailoverIp, type TaskOptions } from './state';
import { PUBLIC_PATH_UNVERIFIED } from './vmac';
import type { VrackState } from './vrack-state';

export class VrackBlocks {
  constructor(private readonly deps: { ips: Map<string, FailoverIp>; vrack: VrackState; dropMac(ip: string): void }) {}

  /** POST /vrack/{sn}/ip {block} */
  add(service: string, body: { block?: unknown }, options: TaskOptions = {}) {
    this.deps.vrack.get(service);
    const block = String(body.block);
    const f = this.deps.ips.get(bareIp(block));
    if (!f) throw badRequest(PUBLIC_PATH_UNVERIFIED.vrackBlockUnknown(block));
    if (f.routedTo === service) throw badRequest(PUBLIC_PATH_UNVERIFIED.vrackBlockAlready(blockOf(f.ip), service));
    const pending = f.tasks.find((t) => isPending(t.status));
    if (pending) throw conflict(UNVERIFIED.movePending(blockOf(f.ip), pending.taskId));
    const apply = () => {
      this.deps.dropMac(f.ip);
      f.routedTo = service;
    };
    return this.deps.vrack.startTask(service, PUBLIC_PATH_UNVERIFIED.vrackAddIpFunction, blockOf(f.ip), PUBLIC_PATH_UNVERIFIED.vrackBlockPending, apply, options);
  }

  /** GET /vrack/{sn}/ip */
  list(service: string): string[] {
    this.deps.vrack.get(service);
    return [...this.deps.ips.values()].filter((f) => f.routedTo === service).map((f) => blockOf(f.ip));
  }

  /** GET /vrack/{sn}/ip/{ip} (vrack.ip): the gateway is the block's last usable address (OVH vRack guide). */
  get(service: string, ipParam: string) {
    const f = this.deps.ips.get(bareIp(ipParam));
    if (!f || f.routedTo !== service) throw notFound(UNVERIFIED.unknownIp(ipParam));
    const cidr = parseCidr(blockOf(f.ip));
    return { ip: blockOf(f.ip), gateway: cidr && cidr.prefix < 31 ? `${vrackBlockGateway(cidr)}/32` : null, zone: null };
  }
}
