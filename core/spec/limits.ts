// Bounds on every number and size in a cluster spec, with the reason for each. The schema
// enforces them; renderers that depend on one (VRRP priorities, keepalived's line length)
// use the same constant. Pure.

export const LIMITS = {
  /** A 199-server spec is about 200 KiB of YAML; five times that is no cluster spec. */
  specBytes: 1024 * 1024,
  /**
   * Anchors and aliases are fine for repeated blocks (199 servers may each use a few); an
   * alias bomb nests them so that a few hundred bytes expand into billions of nodes.
   * (yaml's maxAliasCount: alias uses times the aliases inside what they point at.)
   */
  yamlAliases: 1000,
  /** The deepest field of a spec (servers[].vms.lb.ip) sits 4 levels down; anything far deeper is an attack on the parser. */
  yamlDepth: 16,
  /**
   * VRRP priorities are 1..254 and every LB needs a distinct one (core/render/lb-topology.ts
   * vrrpPriority counts down from 200 in steps of at least 1), so at most 199 LBs: one per server.
   */
  servers: 199,
  /**
   * keepalived reads its configuration in lines of at most 1023 characters and silently splits
   * longer ones. notify_master runs one `autok8s failover` per failover IP on one line, after the
   * public link's `autok8s lb link up`: 5 calls fit with the longest cluster and server names
   * and addresses, 6 do not (test/unit/render-keepalived-public.test.ts renders the worst case).
   */
  failoverIps: 5,
  /** keepalived's MAXBUF (1024) minus the terminating NUL. */
  keepalivedLineChars: 1023,
  vmid: { min: 100, max: 999_999_999 },
  cores: { min: 1, max: 128 },
  memoryMiB: { min: 512, max: 2 * 1024 * 1024 },
  diskGiB: { min: 8, max: 64 * 1024 },
  vrrpRouterId: { min: 1, max: 255 },
  /** A vRack between /8 and /30: at least two hosts, at most one RFC 1918 block. */
  cidrPrefix: { min: 8, max: 30 },
  /** Health passes more often than every 5 s load the Proxmox, Talos and OVH APIs for nothing. */
  healthIntervalMs: { min: 5_000, max: 3_600_000 },
  /** A node is judged only after at least two passes missed it: one lost probe is not an outage. */
  unhealthyAfterIntervals: 2,
  unhealthyAfterMs: { max: 24 * 3_600_000 },
  /** Installing Talos and joining takes minutes; under 30 s every new node would be "unhealthy". */
  nodeStartupTimeoutMs: { min: 30_000, max: 24 * 3_600_000 },
  maxUnhealthy: { min: 0, max: 100 },
} as const;
