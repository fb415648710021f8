// Shared by the LB tests: SSH key pairs, a secret resolver holding a test key (a fake
// dependency: the push under test resolves the key through it exactly as through env:/file:),
// and a cluster spec whose addresses live in a lab's subnet.
import { stringify } from 'yaml';
import type { SecretResolver } from '../../activities/secrets';
import { parseSpec } from '../../core/spec/load';
import type { ClusterSpec } from '../../core/spec/schema';
import { generateEd25519KeyPair } from '../../sandbox/ssh-keys';

export interface KeyPair {
  privateKey: string;
  /** OpenSSH public key line. */
  publicKey: string;
}

export function ed25519KeyPair(comment = 'autok8s-test'): KeyPair {
  const pair = generateEd25519KeyPair(comment); // only keys ssh2 can parse back (mscdex/ssh2#1390)
  return { privateKey: pair.private, publicKey: pair.public };
}

export const TEST_KEY_REF = 'env:AUTOK8S_TEST_SSH_KEY';

export function secretsWith(values: Record<string, string>): SecretResolver {
  return async (ref) => {
    const value = values[ref];
    if (value === undefined) throw new Error(`test resolver has no ${ref}`);
    return value;
  };
}

export interface LabSpecOptions {
  servers: number;
  failoverIps?: string[];
  interface?: string;
  hostKeys?: Record<string, string>;
}

export const serverName = (i: number) => `srv-${String.fromCharCode(97 + i)}`;

/** A valid spec on `10.231.N.0/24`: gateway .1 (the lab bridge), VIP .5, LBs .11+, control planes .21+, workers .31+. */
export function labSpec(net: { ip(n: number): string; cidr: string }, opts: LabSpecOptions): ClusterSpec {
  const controlPlanes = opts.servers % 2 === 1 ? opts.servers : opts.servers - 1;
  const doc = {
    apiVersion: 'autok8s/v1alpha1',
    kind: 'Cluster',
    metadata: { name: 'lab' },
    ovh: { endpoint: 'ovh-eu', applicationKey: 'env:AK', applicationSecret: 'env:AS', consumerKey: 'env:CK', vrack: 'pn-1' },
    failoverIps: opts.failoverIps ?? ['203.0.113.10'],
    network: { cidr: net.cidr, gateway: net.ip(1), apiVip: net.ip(5), interface: opts.interface ?? 'eth0' },
    talos: { version: 'v1.8.3', kubernetesVersion: 'v1.31.2' },
    servers: Array.from({ length: opts.servers }, (_, i) => ({
      name: serverName(i),
      ovhService: `ns${1001 + i}.ip-1-2-3.eu`,
      proxmox: { url: `https://pve-${i}.example:8006`, node: `pve-${i}`, tokenId: 'root@pam!autok8s', tokenSecret: 'env:PVE' },
      vms: {
        lb: { vmid: 101 + i * 100, ip: net.ip(11 + i) },
        ...(i < controlPlanes ? { controlPlane: { vmid: 102 + i * 100, ip: net.ip(21 + i) } } : {}),
        worker: { vmid: 103 + i * 100, ip: net.ip(31 + i) },
      },
      ssh: { user: 'root', privateKey: TEST_KEY_REF, ...(opts.hostKeys?.[serverName(i)] ? { hostKey: opts.hostKeys[serverName(i)] } : {}) },
    })),
  };
  return parseSpec(stringify(doc), 'lab-spec.yaml');
}

/**
 * Calls `sample` every `everyMs` until every promise has settled (or `maxSamples` were
 * taken), and returns the samples with the settled outcomes: what an observer of the host
 * saw while the work ran.
 */
export async function sampleWhile<T>(work: Promise<unknown>[], sample: () => T, o: { everyMs: number; maxSamples: number }) {
  let done = false;
  const settled = Promise.allSettled(work).then((outcomes) => {
    done = true;
    return outcomes;
  });
  const samples: T[] = [sample()];
  while (!done && samples.length < o.maxSamples) {
    await new Promise((r) => setTimeout(r, o.everyMs));
    samples.push(sample());
  }
  return { samples, outcomes: await settled, finished: done };
}
