// The sandbox's audit log: every mutating call a simulator accepts (or refuses) becomes
// one entry. Tests assert exactly-once effects from it ("one move", "each VM created
// once"); benchmarks draw timelines from it; crash tests pick kill points from it.
import { EventEmitter } from 'node:events';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export type AuditOutcome = 'ok' | 'rejected' | 'fault';

export interface AuditEntry {
  seq: number;
  /** Wall-clock time in ms since the epoch. */
  at: number;
  /** Which simulator: ovh, proxmox:<node>, talos, ssh:<host>, ... */
  service: string;
  /** What was asked, in the provider's own words: "POST /ip/{ip}/move", "qmcreate", "bootstrap". */
  action: string;
  /** The object acted on: an IP, a VMID, a node address. */
  target: string;
  outcome: AuditOutcome;
  detail?: Record<string, unknown>;
}

export type AuditFilter = Partial<Pick<AuditEntry, 'service' | 'action' | 'target' | 'outcome'>> & { servicePrefix?: string };

export class AuditLog {
  private readonly log: AuditEntry[] = [];
  private readonly events = new EventEmitter();

  /** @param file optional JSON-lines file that mirrors every entry (for other processes and post-mortems). */
  constructor(private readonly file?: string) {
    if (file) mkdirSync(dirname(file), { recursive: true });
    this.events.setMaxListeners(100);
  }

  record(entry: Omit<AuditEntry, 'seq' | 'at'>): AuditEntry {
    const full: AuditEntry = { seq: this.log.length + 1, at: Date.now(), ...entry };
    this.log.push(full);
    if (this.file) appendFileSync(this.file, JSON.stringify(full) + '\n');
    this.events.emit('entry', full);
    return full;
  }

  entries(filter: AuditFilter = {}): AuditEntry[] {
    return this.log.filter((e) => matches(e, filter));
  }

  count(filter: AuditFilter = {}): number {
    return this.entries(filter).length;
  }

  /** Calls `listener` for every new entry; returns a function that unsubscribes. */
  subscribe(listener: (entry: AuditEntry) => void): () => void {
    this.events.on('entry', listener);
    return () => this.events.off('entry', listener);
  }

  /** Resolves with the first entry (already logged or future) matching the filter. */
  waitFor(filter: AuditFilter, timeoutMs = 60_000): Promise<AuditEntry> {
    const existing = this.entries(filter)[0];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no audit entry matching ${JSON.stringify(filter)} within ${timeoutMs} ms`));
      }, timeoutMs);
      const stop = this.subscribe((e) => {
        if (!matches(e, filter)) return;
        clearTimeout(timer);
        stop();
        resolve(e);
      });
    });
  }
}

function matches(e: AuditEntry, f: AuditFilter): boolean {
  return (
    (f.service === undefined || e.service === f.service) &&
    (f.servicePrefix === undefined || e.service.startsWith(f.servicePrefix)) &&
    (f.action === undefined || e.action === f.action) &&
    (f.target === undefined || e.target === f.target) &&
    (f.outcome === undefined || e.outcome === f.outcome)
  );
}
