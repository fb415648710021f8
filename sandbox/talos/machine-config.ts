// What a simulated Talos node reads from a machine config it is given: the facts that
// decide its behaviour (type, hostname, addresses, which cluster CA it trusts), after the
// checks a real node makes before accepting a config. Shared by the simulator (node side)
// and the stand-in (client side: the talosconfig's CA identifies the client's cluster).
import { createHash } from 'node:crypto';
import { parseAllDocuments } from 'yaml';

/** Identity of a Talos cluster: the SHA-256 of its OS CA certificate (base64 as in configs). */
export function caFingerprint(caCrtBase64: string): string {
  return createHash('sha256').update(Buffer.from(caCrtBase64, 'base64')).digest('hex');
}

export interface MachineConfigFacts {
  text: string;
  digest: string;
  machineType: 'controlplane' | 'worker' | 'init';
  hostname?: string;
  caFingerprint: string;
  /** machine.ca as in the config (base64 PEM): the node's apid certificate is issued from it. Workers carry no key. */
  osCa: { crt: string; key?: string };
  k8sCaCrt: string;
  clusterName: string;
  endpoint: string;
  /** Static addresses of every interface, without prefix length. */
  addresses: string[];
  installDisk?: string;
}

export class MachineConfigInvalid extends Error {}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Parses and validates a v1alpha1 machine config; throws MachineConfigInvalid with Talos-like wording. */
export function readMachineConfig(text: string): MachineConfigFacts {
  let docs: unknown[];
  try {
    const parsed = parseAllDocuments(text);
    if (!Array.isArray(parsed)) throw new Error('empty document stream');
    const broken = parsed.find((d) => d.errors.length > 0);
    if (broken) throw new Error(broken.errors[0].message.split('\n')[0]);
    docs = parsed.map((d) => d.toJS() as unknown);
  } catch (err) {
    throw new MachineConfigInvalid(`failed to parse config: ${(err as Error).message}`);
  }
  const main = docs.find((d) => isObject(d) && d.version === 'v1alpha1');
  if (!isObject(main)) throw new MachineConfigInvalid('failed to parse config: no v1alpha1 document (version: v1alpha1) found');

  const problems: string[] = [];
  const machine = isObject(main.machine) ? main.machine : {};
  const cluster = isObject(main.cluster) ? main.cluster : {};
  if (!isObject(main.machine)) problems.push('machine instructions are required');
  if (!isObject(main.cluster)) problems.push('cluster instructions are required');

  const type = machine.type;
  if (type !== 'controlplane' && type !== 'worker' && type !== 'init') problems.push(`unknown machine type ${JSON.stringify(type)}`);
  const ca = isObject(machine.ca) ? machine.ca : {};
  if (typeof ca.crt !== 'string' || ca.crt === '') problems.push('machine.ca.crt is required');
  if ((type === 'controlplane' || type === 'init') && (typeof ca.key !== 'string' || ca.key === '')) problems.push('machine.ca.key is required on control plane nodes');

  const controlPlane = isObject(cluster.controlPlane) ? cluster.controlPlane : {};
  const endpoint = controlPlane.endpoint;
  if (typeof endpoint !== 'string' || !/^https:\/\/[^/\s]+/.test(endpoint)) problems.push(`cluster.controlPlane.endpoint ${JSON.stringify(endpoint)} must be an https:// URL`);
  if (typeof cluster.clusterName !== 'string' || cluster.clusterName === '') problems.push('cluster.clusterName is required');

  const network = isObject(machine.network) ? machine.network : {};
  const interfaces = Array.isArray(network.interfaces) ? network.interfaces : [];
  const addresses: string[] = [];
  interfaces.forEach((iface, i) => {
    if (!isObject(iface)) return problems.push(`machine.network.interfaces[${i}] is not a mapping`);
    if (iface.interface === undefined && iface.deviceSelector === undefined) problems.push(`machine.network.interfaces[${i}]: interface or deviceSelector is required`);
    for (const address of Array.isArray(iface.addresses) ? iface.addresses : []) {
      const match = typeof address === 'string' ? /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(address) : null;
      if (!match) problems.push(`machine.network.interfaces[${i}]: invalid address ${JSON.stringify(address)} (CIDR notation expected)`);
      else addresses.push(match[1]);
    }
  });
  if (problems.length > 0) {
    throw new MachineConfigInvalid(`${problems.length} error${problems.length === 1 ? '' : 's'} occurred:\n${problems.map((p) => `\t* ${p}`).join('\n')}\n\n`);
  }

  const install = isObject(machine.install) ? machine.install : {};
  const k8sCa = isObject(cluster.ca) ? cluster.ca : {};
  return {
    text,
    digest: createHash('sha256').update(text).digest('hex'),
    machineType: type as MachineConfigFacts['machineType'],
    hostname: typeof network.hostname === 'string' ? network.hostname : undefined,
    caFingerprint: caFingerprint(ca.crt as string),
    osCa: { crt: ca.crt as string, key: typeof ca.key === 'string' && ca.key !== '' ? ca.key : undefined },
    k8sCaCrt: typeof k8sCa.crt === 'string' ? k8sCa.crt : '',
    clusterName: cluster.clusterName as string,
    endpoint: endpoint as string,
    addresses,
    installDisk: typeof install.disk === 'string' ? install.disk : undefined,
  };
}

/** A short line diff between two configs, for dry runs (real Talos prints a unified diff). */
export function configDiff(before: string, after: string): string {
  if (before === after) return '';
  const a = before.split('\n');
  const b = after.split('\n');
  const removed = a.filter((l) => !b.includes(l)).map((l) => `-${l}`);
  const added = b.filter((l) => !a.includes(l)).map((l) => `+${l}`);
  return ['--- a', '+++ b', ...removed, ...added].join('\n');
}
