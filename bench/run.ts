// `npm run bench [-- entry ...]`: runs the benchmarks against a dev server of their own,
// prints a table per entry and writes bench/results/<entry>.json.
import { startDevServer } from '../client/dev/dev-server';
import { installQuietRuntime } from '../worker/worker';
import { failoverOverhead } from './failover-overhead';

const ENTRIES: Record<string, (temporalAddress: string) => Promise<void>> = {
  'failover-overhead': (address) => failoverOverhead(address),
  'failover-detection': async (address) => (await import('./failover-detection')).failoverDetection(address),
  'bootstrap-scaling': async (address) => (await import('./bootstrap-scaling')).bootstrapScaling(address),
  'health-capacity': async (address) => (await import('./health-capacity')).healthCapacity(address),
  'remediation-timing': async (address) => (await import('./remediation-timing')).remediationTiming(address),
  // Its own dev server (with a metrics endpoint), so that only its own runs are counted.
  'temporal-footprint': async () => (await import('./temporal-footprint')).temporalFootprint(),
};

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !(w in ENTRIES));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(ENTRIES).join(', ')}`);
    process.exit(2);
  }
  installQuietRuntime();
  const server = await startDevServer({ uiPort: false });
  try {
    for (const name of wanted.length > 0 ? wanted : Object.keys(ENTRIES)) await ENTRIES[name](server.address);
  } finally {
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
