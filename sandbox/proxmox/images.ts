// What a simulated VM boots, and so how its guest behaves (docs/contracts.md §B.5, §C.5).
// The node's storages hold ISO images with what they really are — a Talos platform and
// whether the image runs the QEMU guest agent — whatever their file names say; a VM's guest
// follows the image it boots, not its config:
//
//   - Talos nocloud ISO: reads the cloud-init drive (cidata), so it takes ipconfig0's address;
//   - Talos metal ISO: has no cloud-init code, so it never takes ipconfig0's address;
//   - no ISO (the LB's Debian cloud image on disk): cloud-init takes the address;
//   - the guest agent answers only when the image has one (a Talos schematic with
//     siderolabs/qemu-guest-agent; a disk image the sandbox declares with one).
export interface SimIso {
  /** Volume ID, e.g. local:iso/talos-nocloud-amd64.iso. */
  volid: string;
  /** What the image really is: nocloud reads the cloud-init drive, metal does not. */
  platform: 'nocloud' | 'metal';
  /** The image runs qemu-guest-agent (an Image Factory schematic with the extension). */
  guestAgent: boolean;
  /** Bytes, as the storage content list reports (default: a plausible ISO size). */
  size?: number;
}

/** What a VM booting from its disk only runs (an LB cloned from a Debian template, or a bare disk). */
export interface SimDiskGuest {
  guestAgent: boolean;
}

/** The sandbox node's ISOs: Talos's nocloud image without extensions, as most users download it. */
export const DEFAULT_ISOS: SimIso[] = [{ volid: 'local:iso/talos-nocloud-amd64.iso', platform: 'nocloud', guestAgent: false }];
/** Debian's generic cloud images ship cloud-init; qemu-guest-agent is not assumed. */
export const DEFAULT_DISK_GUEST: SimDiskGuest = { guestAgent: false };

export interface GuestTraits {
  /** The volume the VM boots, or "disk". */
  image: string;
  readsCloudInit: boolean;
  guestAgent: boolean;
}

/** The ISO volume a config's CD-ROM drive holds, if any (the cloud-init drive is a CD-ROM too, not an ISO). */
export function cdromVolume(config: Record<string, string>): string | undefined {
  for (const [key, value] of Object.entries(config)) {
    if (!/^(ide|sata|scsi)\d+$/.test(key) || !value.includes('media=cdrom')) continue;
    const volid = value.split(',')[0].replace(/^file=/, ''); // the drive's volume: its first, unnamed part
    if (/^[^:]+:iso\//.test(volid)) return volid;
  }
  return undefined;
}

/** How the guest of a VM with this config behaves; undefined when its ISO is not on the node. */
export function guestTraits(config: Record<string, string>, isos: readonly SimIso[], disk: SimDiskGuest): GuestTraits | undefined {
  const volid = cdromVolume(config);
  if (volid === undefined) return { image: 'disk', readsCloudInit: true, guestAgent: disk.guestAgent };
  const iso = isos.find((i) => i.volid === volid);
  if (!iso) return undefined;
  return { image: `${volid} (Talos ${iso.platform}${iso.guestAgent ? ' with the guest agent' : ''})`, readsCloudInit: iso.platform === 'nocloud', guestAgent: iso.guestAgent };
}

/** `GET /nodes/{node}/storage/{storage}/content` entries for ISOs (pve-storage API2/Storage/Content.pm index). */
export function isoContent(isos: readonly SimIso[], storage: string): Record<string, unknown>[] {
  return isos
    .filter((i) => i.volid.startsWith(`${storage}:`))
    .map((i) => ({ volid: i.volid, format: 'iso', content: 'iso', size: i.size ?? 104_857_600, ctime: 1_733_000_000 }));
}
