// Routes of the public path (docs/contracts.md §A.7): a server's network facts, its virtual
// MACs, the move asked from the target server, and IP blocks routed into a vRack.
import type { Route } from './routes';

const snTarget = (p: Record<string, string>) => p.serviceName;
const vmacPath = '/dedicated/server/{serviceName}/virtualMac';

export const PUBLIC_PATH_ROUTES: Route[] = [
  {
    method: 'GET',
    template: '/dedicated/server/{serviceName}/specifications/network',
    target: snTarget,
    handle: (s, c) => ({ body: s.networkSpecifications(c.params.serviceName) }),
  },
  {
    method: 'POST',
    template: '/dedicated/server/{serviceName}/ipMove',
    target: snTarget,
    handle: (s, c) => {
      const task = s.ipMove(c.params.serviceName, c.body, c.task);
      return { body: task, detail: { ip: c.body.ip, taskId: task.taskId } };
    },
  },
  { method: 'GET', template: vmacPath, target: snTarget, handle: (s, c) => ({ body: (s.serverView(c.params.serviceName), s.vmac.macsOf(c.params.serviceName)) }) },
  {
    method: 'POST',
    template: vmacPath,
    target: snTarget,
    handle: (s, c) => {
      s.serverView(c.params.serviceName);
      const task = s.vmac.create(c.params.serviceName, c.body, c.task) as { taskId: number };
      return { body: task, detail: { ipAddress: c.body.ipAddress, virtualMachineName: c.body.virtualMachineName, taskId: task.taskId } };
    },
  },
  { method: 'GET', template: `${vmacPath}/{macAddress}`, target: snTarget, handle: (s, c) => ({ body: s.vmac.get(c.params.serviceName, c.params.macAddress) }) },
  {
    method: 'GET',
    template: `${vmacPath}/{macAddress}/virtualAddress`,
    target: snTarget,
    handle: (s, c) => ({ body: s.vmac.addressesOf(c.params.serviceName, c.params.macAddress) }),
  },
  {
    method: 'POST',
    template: `${vmacPath}/{macAddress}/virtualAddress`,
    target: snTarget,
    handle: (s, c) => {
      s.serverView(c.params.serviceName);
      const task = s.vmac.addAddress(c.params.serviceName, c.params.macAddress, c.body, c.task) as { taskId: number };
      return { body: task, detail: { macAddress: c.params.macAddress, ipAddress: c.body.ipAddress, taskId: task.taskId } };
    },
  },
  {
    method: 'GET',
    template: `${vmacPath}/{macAddress}/virtualAddress/{ipAddress}`,
    target: snTarget,
    handle: (s, c) => ({ body: s.vmac.address(c.params.serviceName, c.params.macAddress, c.params.ipAddress) }),
  },
  { method: 'GET', template: '/vrack/{serviceName}/ip', target: snTarget, handle: (s, c) => ({ body: s.vrackBlocks.list(c.params.serviceName) }) },
  {
    method: 'POST',
    template: '/vrack/{serviceName}/ip',
    target: snTarget,
    handle: (s, c) => {
      const task = s.vrackBlocks.add(c.params.serviceName, c.body, c.task);
      return { body: task, detail: { block: c.body.block, taskId: task.id } };
    },
  },
  { method: 'GET', template: '/vrack/{serviceName}/ip/{ip}', target: snTarget, handle: (s, c) => ({ body: s.vrackBlocks.get(c.params.serviceName, c.params.ip) }) },
];
