// Fault injection shared by the HTTP simulators: a list of rules matched against each
// request (service, method, path). A rule fires a bounded number of times, so a test can
// say "the next move call answers 500" and know the retry will succeed.
export type FaultEffect =
  /** Refuse the call with this HTTP status without applying it. */
  | { kind: 'status'; status: number; message?: string }
  /** Apply the call, then answer with an error: the caller cannot tell it took effect. */
  | { kind: 'applyThenStatus'; status: number; message?: string }
  /** Never answer; the caller's timeout has to notice. */
  | { kind: 'hang' }
  /** Cut the TCP connection without an answer. */
  | { kind: 'reset' }
  /** Accept the call, but the asynchronous task it starts ends in error. */
  | { kind: 'taskError'; message?: string }
  /** Answer normally, after this extra delay. */
  | { kind: 'delay'; ms: number };

export interface FaultRuleInput {
  /** Simulator the rule applies to: "ovh", "proxmox:<node>" or "proxmox" for all nodes. */
  service: string;
  method?: string;
  /** Regular expression matched against the request path (without the query string). */
  path?: string;
  effect: FaultEffect;
  /** How many matching calls the rule affects; default 1. */
  times?: number;
}

export interface FaultRule extends Required<Omit<FaultRuleInput, 'method' | 'path'>> {
  id: number;
  method?: string;
  path?: string;
  fired: number;
}

export class FaultInjector {
  private rules: FaultRule[] = [];
  private nextId = 1;

  add(input: FaultRuleInput): FaultRule {
    if (input.path !== undefined) new RegExp(input.path); // fail now on a bad pattern, not on the first request
    const rule: FaultRule = { id: this.nextId++, times: 1, fired: 0, ...input } as FaultRule;
    this.rules.push(rule);
    return rule;
  }

  /** Returns the effect of the first live rule matching this call, and counts it as fired. */
  take(service: string, method: string, path: string): FaultEffect | undefined {
    const rule = this.rules.find(
      (r) =>
        r.fired < r.times &&
        (r.service === service || service.startsWith(r.service + ':')) &&
        (r.method === undefined || r.method.toUpperCase() === method.toUpperCase()) &&
        (r.path === undefined || new RegExp(r.path).test(path)),
    );
    if (!rule) return undefined;
    rule.fired += 1;
    return rule.effect;
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  clear(service?: string): void {
    this.rules = service === undefined ? [] : this.rules.filter((r) => r.service !== service);
  }
}
