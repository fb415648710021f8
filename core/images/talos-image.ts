// Which Talos image the VMs boot, and what follows from it (docs/contracts.md §C.5).
//
// Only Talos's **nocloud** image reads the cloud-init drive Proxmox writes (`cidata`, with
// ipconfig0's static address); the **metal** image — the one Talos's Proxmox guide downloads —
// has no such code and takes a DHCP address or none. So the spec names the platform and
// refuses anything but nocloud. Extensions (the QEMU guest agent among them) come only from
// an Image Factory schematic; the installer image must be the factory's for the same
// schematic, or the install drops them. Pure functions; the schema and the adapters share them.
import { z } from 'zod';
import { GRAMMAR, requireGrammar, UnsafeValueError } from '../spec/grammar';

/** The Image Factory extension that runs qemu-guest-agent inside Talos. */
export const GUEST_AGENT_EXTENSION = 'siderolabs/qemu-guest-agent';
const SCHEMATIC = /^[0-9a-f]{64}$/;
const EXTENSION = /^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/;

export interface TalosImage {
  platform: 'nocloud';
  schematic?: string;
  extensions: string[];
}

const NOT_NOCLOUD =
  'must be nocloud: only the nocloud image reads the Proxmox cloud-init drive that carries the VM address (the metal ISO of the Talos Proxmox guide does not); ' +
  'download https://factory.talos.dev/image/<schematic>/<version>/nocloud-amd64.iso to the node, point servers[].proxmox.isoVolume at it and set platform: nocloud';

export const talosImageSchema = z
  .strictObject({
    platform: z
      .literal('nocloud', { error: NOT_NOCLOUD })
      .default('nocloud')
      .describe('Talos platform of the boot ISO: nocloud (the only one that reads the Proxmox cloud-init drive).'),
    schematic: z
      .string()
      .regex(SCHEMATIC, { error: 'must be an Image Factory schematic ID: 64 lowercase hex digits, as POST https://factory.talos.dev/schematics answers' })
      .optional()
      .describe('Image Factory schematic ID of the ISO; the installer becomes factory.talos.dev/installer/<schematic>:<version>.'),
    extensions: z
      .array(z.string().regex(EXTENSION, { error: 'must be an official extension name such as siderolabs/qemu-guest-agent' }))
      .default([])
      .describe(`System extensions the schematic holds (its customization.systemExtensions.officialExtensions); ${GUEST_AGENT_EXTENSION} makes bootVm ask the QEMU guest agent too, for its progress details.`),
  })
  .refine((image) => image.extensions.length === 0 || image.schematic !== undefined, {
    path: ['extensions'],
    error: 'extensions come only with an Image Factory schematic: set talos.image.schematic to the ID of the schematic that holds them, or drop the list',
  });

/**
 * The runtime mode Talos runs in on each platform, which is what `talosctl validate --mode`
 * checks a machine config for: the nocloud platform reports the cloud mode
 * (internal/app/machined/pkg/runtime/v1alpha1/platform/nocloud/nocloud.go, Mode()), and still
 * installs to disk from an ISO boot (the Install sequence runs in every mode but container).
 */
export const TALOS_RUNTIME_MODE: Record<TalosImage['platform'], 'cloud' | 'metal'> = { nocloud: 'cloud' };

/** True when the spec's Talos image runs the QEMU guest agent (an extension of its schematic). */
export function hasGuestAgent(image: Pick<TalosImage, 'schematic' | 'extensions'> | undefined): boolean {
  return image?.schematic !== undefined && image.extensions.includes(GUEST_AGENT_EXTENSION);
}

/**
 * The installer a node installs from: the factory's for the schematic (it keeps the
 * schematic's extensions on disk), else the stock one (no extensions). A tag only:
 * "v1.8.3@sha256:…" would install someone else's image.
 */
export function installerImage(talosVersion: string, schematic?: string): string {
  const version = requireGrammar(GRAMMAR.versionTag, talosVersion, 'talos.version');
  if (schematic === undefined) return `ghcr.io/siderolabs/installer:${version}`;
  if (!SCHEMATIC.test(schematic)) throw new UnsafeValueError('talos.image.schematic', schematic, '64 lowercase hex digits');
  return `factory.talos.dev/installer/${schematic}:${version}`;
}

/** Where the boot ISO of this image is downloaded (what the docs and errors tell the operator). */
export function nocloudIsoUrl(talosVersion: string, schematic: string | undefined): string {
  return `https://factory.talos.dev/image/${schematic ?? '<schematic>'}/${talosVersion}/nocloud-amd64.iso`;
}

/**
 * What an ISO volume's file name says about its platform. A name is only a hint: an ISO
 * renamed after download says nothing, so "unknown" is accepted and the boot wait names
 * the platform when the node never answers. A name that says metal is refused.
 */
export function platformByName(volid: string): 'nocloud' | 'metal' | 'unknown' {
  const file = volid.slice(volid.lastIndexOf('/') + 1).toLowerCase();
  if (/(^|[^a-z])metal([^a-z]|$)/.test(file)) return 'metal';
  if (/(^|[^a-z])nocloud([^a-z]|$)/.test(file)) return 'nocloud';
  return 'unknown';
}

/**
 * Why the ISO volume a server's Talos VMs boot cannot be right, from the storage's listing
 * of its ISOs; undefined when nothing is wrong that the listing can tell.
 */
export function bootImageProblem(input: { field: string; isoVolume: string; listed: readonly string[]; node: string; talosVersion: string; schematic?: string }): string | undefined {
  const fetch = `download ${nocloudIsoUrl(input.talosVersion, input.schematic)} to the node (Datacenter → storage → ISO Images → Download from URL) and point ${input.field} at it`;
  if (!input.listed.includes(input.isoVolume)) {
    const isos = input.listed.length > 0 ? ` (it holds ${input.listed.slice(0, 5).join(', ')}${input.listed.length > 5 ? ', …' : ''})` : ' (it holds no ISO)';
    return `${input.field} ${input.isoVolume} is not on node ${input.node}${isos}; ${fetch}`;
  }
  if (platformByName(input.isoVolume) === 'metal') {
    return `${input.field} ${input.isoVolume} is a Talos metal image by its name: the metal image ignores the Proxmox cloud-init drive, so the VM would never take its address; ${fetch}`;
  }
  return undefined;
}
