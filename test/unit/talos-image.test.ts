// The Talos image a spec names (core/images/talos-image.ts) and when a booted VM counts as
// ready (core/images/readiness.ts): which image is accepted, the installer that follows from
// the schematic, what an ISO listing can tell, and what a talosctl probe's answer means.
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readinessPlan, talosApiAnswer } from '../../core/images/readiness';
import { bootImageProblem, GUEST_AGENT_EXTENSION, hasGuestAgent, installerImage, platformByName } from '../../core/images/talos-image';
import { loadSpecFile } from '../../core/spec/load';
import { SpecError } from '../../core/spec/spec-error';
import { validateSpecData } from '../../core/spec/validate';
import { renderNodePatch } from '../../core/talos/patch';
import { ROOT } from '../helpers/paths';

const fixture = loadSpecFile(join(ROOT, 'test/fixtures/cluster.yaml'));
const SCHEMATIC = 'ce4c980550dd2ab1b17bbf2b08801c7eb59418eafe8f279833297925d67c7515';

/** The fixture with talos.image replaced, validated as a user's spec would be. */
function withImage(image: unknown) {
  return validateSpecData({ ...structuredClone(fixture), talos: { ...fixture.talos, image } });
}

function problems(image: unknown): { path: string; message: string }[] {
  try {
    withImage(image);
    return [];
  } catch (err) {
    if (err instanceof SpecError) return err.problems.map((p) => ({ path: p.path, message: p.message }));
    throw err;
  }
}

describe('talos.image in the spec', () => {
  it('defaults to the nocloud platform without a schematic, and the fixture ISO to the nocloud image', () => {
    expect(fixture.talos.image).toEqual({ platform: 'nocloud', extensions: [] });
    expect(fixture.servers[0].proxmox.isoVolume).toBe('local:iso/talos-nocloud-amd64.iso');
  });

  it.each([
    { name: 'a metal image is refused, naming the field and the nocloud download', image: { platform: 'metal' }, path: 'talos.image.platform', message: /must be nocloud.*metal ISO.*nocloud-amd64\.iso/ },
    { name: 'any other platform is refused the same way', image: { platform: 'aws' }, path: 'talos.image.platform', message: /must be nocloud/ },
    { name: 'a schematic that is not 64 hex digits is refused', image: { schematic: 'abc' }, path: 'talos.image.schematic', message: /64 lowercase hex/ },
    { name: 'extensions without a schematic are refused: only a schematic brings them', image: { extensions: [GUEST_AGENT_EXTENSION] }, path: 'talos.image.extensions', message: /only with an Image Factory schematic/ },
    { name: 'an extension name that is not owner/name is refused', image: { schematic: SCHEMATIC, extensions: ['qemu guest agent'] }, path: 'talos.image.extensions[0]', message: /official extension name/ },
    { name: 'an unknown key is refused', image: { iso: 'local:iso/x.iso' }, path: 'talos.image', message: /iso/ },
  ])('$name', ({ image, path, message }) => {
    const found = problems(image);
    expect(found.map((p) => p.path)).toContain(path);
    expect(found.find((p) => p.path === path)!.message).toMatch(message);
  });

  it('accepts a schematic with the guest agent, and only then does the image have one', () => {
    const spec = withImage({ platform: 'nocloud', schematic: SCHEMATIC, extensions: [GUEST_AGENT_EXTENSION] });
    expect(hasGuestAgent(spec.talos.image)).toBe(true);
    expect(hasGuestAgent(withImage({ schematic: SCHEMATIC }).talos.image)).toBe(false);
    expect(hasGuestAgent(fixture.talos.image)).toBe(false);
  });
});

describe('the installer image follows the schematic', () => {
  it.each([
    { name: 'without a schematic: the stock installer (no extensions)', schematic: undefined, expected: 'ghcr.io/siderolabs/installer:v1.8.3' },
    { name: "with a schematic: the factory's installer for it, which keeps its extensions on disk", schematic: SCHEMATIC, expected: `factory.talos.dev/installer/${SCHEMATIC}:v1.8.3` },
  ])('$name', ({ schematic, expected }) => {
    expect(installerImage('v1.8.3', schematic)).toBe(expected);
  });

  it('refuses a version or schematic that would name someone else’s image', () => {
    expect(() => installerImage('v1.8.3@sha256:00', SCHEMATIC)).toThrow(/talos.version/);
    expect(() => installerImage('v1.8.3', `${SCHEMATIC}/evil`)).toThrow(/talos.image.schematic/);
  });

  it('a node patch installs from the factory installer when the spec names a schematic', () => {
    const spec = withImage({ schematic: SCHEMATIC, extensions: [GUEST_AGENT_EXTENSION] });
    const patch = parse(renderNodePatch(spec, 'srv-a', 'worker')) as { machine: { install: { image: string } } };
    expect(patch.machine.install.image).toBe(`factory.talos.dev/installer/${SCHEMATIC}:v1.8.3`);
    const stock = parse(renderNodePatch(fixture, 'srv-a', 'worker')) as { machine: { install: { image: string } } };
    expect(stock.machine.install.image).toBe('ghcr.io/siderolabs/installer:v1.8.3');
  });
});

describe('what an ISO volume on the node can tell', () => {
  it.each([
    { volid: 'local:iso/nocloud-amd64.iso', expected: 'nocloud' },
    { volid: 'local:iso/talos-v1.8.3-nocloud-amd64.iso', expected: 'nocloud' },
    { volid: 'local:iso/metal-amd64.iso', expected: 'metal' },
    { volid: 'cephfs:iso/talos_metal_v1.8.3.ISO', expected: 'metal' },
    { volid: 'local:iso/talos-amd64.iso', expected: 'unknown' },
    { volid: 'local:iso/metallb-tools.iso', expected: 'unknown' },
  ])('$volid reads as $expected', ({ volid, expected }) => {
    expect(platformByName(volid)).toBe(expected);
  });

  const base = { field: 'servers[0].proxmox.isoVolume', node: 'pve-a', talosVersion: 'v1.8.3' };
  it.each([
    { name: 'an ISO the storage holds, named nocloud, is fine', isoVolume: 'local:iso/talos-nocloud-amd64.iso', listed: ['local:iso/talos-nocloud-amd64.iso'], problem: undefined },
    { name: 'an ISO whose name says nothing is accepted (the boot wait names the image if it never answers)', isoVolume: 'local:iso/talos.iso', listed: ['local:iso/talos.iso'], problem: undefined },
    { name: 'an ISO named metal is refused, naming the field, the image and the download', isoVolume: 'local:iso/metal-amd64.iso', listed: ['local:iso/metal-amd64.iso'], problem: /servers\[0\]\.proxmox\.isoVolume local:iso\/metal-amd64\.iso is a Talos metal image.*factory\.talos\.dev\/image\/<schematic>\/v1\.8\.3\/nocloud-amd64\.iso/ },
    { name: 'an ISO the storage does not hold is refused, listing what it holds', isoVolume: 'local:iso/talos-nocloud-amd64.iso', listed: ['local:iso/debian.iso'], problem: /is not on node pve-a \(it holds local:iso\/debian\.iso\)/ },
  ])('$name', ({ isoVolume, listed, problem }) => {
    const found = bootImageProblem({ ...base, isoVolume, listed });
    if (problem === undefined) expect(found).toBeUndefined();
    else expect(found).toMatch(problem);
  });
});

describe('when a booted VM is ready', () => {
  it('Talos VMs are asked on the Talos API, the LB over SSH; the agent only with a guest-agent schematic', () => {
    expect(readinessPlan(fixture, 'srv-a', 'worker')).toEqual({ probe: 'talosApi', agent: false, image: 'Talos nocloud ISO local:iso/talos-nocloud-amd64.iso' });
    expect(readinessPlan(fixture, 'srv-a', 'lb')).toMatchObject({ probe: 'ssh', agent: false });
    const withAgent = withImage({ schematic: SCHEMATIC, extensions: [GUEST_AGENT_EXTENSION] });
    expect(readinessPlan(withAgent, 'srv-a', 'controlPlane')).toMatchObject({ probe: 'talosApi', agent: true });
  });

  const run = (stderr: string, exitCode: number | null = 1, timedOut = false) => ({ stderr, exitCode, timedOut });
  it.each([
    { name: 'a maintenance node refusing version with its own status has answered', r: run('error getting version: rpc error: code = Unimplemented desc = API is not implemented in maintenance mode'), answered: true },
    { name: 'a configured node asking for a client certificate has answered', r: run('rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: remote error: tls: certificate required"'), answered: true },
    { name: 'a node of another authority has answered', r: run('rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"'), answered: true },
    { name: 'a clean exit has answered', r: run('', 0), answered: true },
    { name: 'connection refused has not', r: run('rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.10.0.21:50000: connect: connection refused"'), answered: false },
    { name: 'no route to host has not', r: run('rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.10.0.21:50000: connect: no route to host"'), answered: false },
    { name: 'a deadline has not', r: run('rpc error: code = DeadlineExceeded desc = context deadline exceeded'), answered: false },
    { name: 'our own timeout has not', r: run('', null, true), answered: false },
    { name: 'a clean exit with a node warning has not', r: run('WARNING: 1 error occurred:\n\t* 10.10.0.21: rpc error: code = Unavailable desc = connection refused', 0), answered: false },
  ])('$name', ({ r, answered }) => {
    expect(talosApiAnswer(r).answered).toBe(answered);
  });
});
