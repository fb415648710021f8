// What a trigger may say: the cluster and the operation's parameters, nothing else. Every
// workflow checks its input against these before it does anything; a spec, a file path or
// any other field in an input is refused (non-retryable, naming the field), because the
// spec a run uses is the one the cluster's spec store accepted (workflows/cluster-spec.ts).
// Pure, zod only: runs inside workflows.
import { z } from 'zod';
import { UNICAST_MAC } from './public-path/lb-nic';
import { GRAMMAR } from './spec/grammar';
import { grammatical } from './spec/schema';

const dnsLabel = grammatical(GRAMMAR.dnsLabel);
const generation = z.string().regex(/^g[0-9a-f]{12}$/, { error: 'must be a spec generation such as g0123456789ab' });
const ip = grammatical(GRAMMAR.ipv4);
// Free text that ends up in results and the Web UI: bounded, one line, no control characters.
const reason = z.string().max(200, { error: 'must be at most 200 characters' }).regex(/^[^\u0000-\u001f\u007f]*$/, { error: 'must be one line without control characters' });
const duration = z.string().regex(/^\d+(ms|s|m|h)$/, { error: 'must be a duration such as 30s, 5m or 1h' });
const ifBusy = z.enum(['wait', 'fail']);
const role = z.enum(['lb', 'controlPlane', 'worker']);
const linkState = z.enum(['up', 'down'], { error: 'must be up or down' });
/** The LB VM's public NIC as bootstrap decided it (core/public-path/nic-plan.ts): the virtual MAC (vmac) and whether its link starts up. */
const lbPublicNic = z.strictObject({
  mac: z.string().regex(UNICAST_MAC, { error: 'must be a unicast MAC such as 02:00:00:ab:cd:ef' }).optional(),
  linkUp: z.boolean(),
});
/** When the trigger was made (ms since the epoch, the caller's clock): the latest request wins, whatever order they arrive in. */
const requestedAt = z.number().refine((n) => Number.isSafeInteger(n) && n >= 0, { error: 'must be a time in milliseconds since the epoch' }).optional();
/** One request for an LB VM's public link (the signal a running lbLink takes, and its start input's part). */
const lbLinkRequest = z.strictObject({ state: linkState, reason: reason.optional(), at: requestedAt });

export const intents = {
  failoverIp: z.strictObject({ cluster: dnsLabel, ip, to: dnsLabel.optional(), avoid: dnsLabel.optional(), reason: reason.optional(), generation: generation.optional() }),
  bootstrapCluster: z.strictObject({ cluster: dnsLabel, ifBusy: ifBusy.optional(), generation: generation.optional() }),
  provisionServer: z.strictObject({ cluster: dnsLabel, server: dnsLabel, generation, lbPublicNic: lbPublicNic.optional() }),
  replaceNode: z.strictObject({ cluster: dnsLabel, server: dnsLabel, role, reason: reason.optional(), ifBusy: ifBusy.optional(), generation: generation.optional() }),
  /** A watch window: `window` long (default 1h), probing every `every` (default: the spec's health.interval). */
  healthCheck: z.strictObject({ cluster: dnsLabel, every: duration.optional(), window: duration.optional() }),
  lbLink: lbLinkRequest.extend({ cluster: dnsLabel, server: dnsLabel }),
  lbLinkRequest,
  /** A health pass's report to the watcher: an observation and a generation, never a spec. */
  watcherReport: z.strictObject({
    generation,
    observation: z.strictObject({
      cluster: dnsLabel,
      at: z.number(),
      nodes: z.array(z.strictObject({ server: dnsLabel, role, healthy: z.boolean(), detail: z.string().max(2000) })).max(600),
      etcd: z.array(z.strictObject({ server: dnsLabel, healthy: z.boolean() })).max(200),
      failover: z.array(z.strictObject({ ip, routedTo: dnsLabel.nullable() })).max(20),
      vrrp: z.array(z.strictObject({ server: dnsLabel, master: z.boolean().nullable() })).max(200).optional(),
    }),
  }),
  /** Which accepted spec an activity works with: what activity inputs carry instead of the spec (activities/spec/spec-ref.ts). */
  specRef: z.strictObject({ cluster: dnsLabel, generation }),
  /** What `apply` takes besides the spec. */
  applyNote: reason.optional(),
};

export type FailoverIntent = z.output<typeof intents.failoverIp>;
export type BootstrapIntent = z.output<typeof intents.bootstrapCluster>;
export type ProvisionIntent = z.output<typeof intents.provisionServer>;
export type ReplaceIntent = z.output<typeof intents.replaceNode>;
export type HealthCheckIntent = z.output<typeof intents.healthCheck>;
export type LbLinkIntent = z.output<typeof intents.lbLink>;
export type LbLinkRequest = z.output<typeof intents.lbLinkRequest>;

/** Why `input` is not a valid intent for `workflow`, one line per field; undefined when it is. */
export function intentProblem(workflow: keyof typeof intents, input: unknown): string | undefined {
  const result = intents[workflow].safeParse(input);
  if (result.success) return undefined;
  const lines = result.error.issues.map((issue) => {
    const field = issue.path.map(String).join('.') || '(input)';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.join(', ');
      const spec = issue.keys.some((k) => k === 'spec' || k === 'specFile');
      return `${keys}: not an input of ${workflow}${spec ? '; a run uses the spec its cluster accepted (autok8s apply -f cluster.yaml), never one in its input' : ''}`;
    }
    return `${field}: ${issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message}`;
  });
  return `bad input to ${workflow}: ${lines.join('; ')}`;
}
