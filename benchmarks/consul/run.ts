// Load that discovery puts on Consul: requests per minute per watched service when nothing
// changes, and in the minute that starts with a burst of changes. Switchyard's ConsulSource
// (token bucket, daemon defaults) runs next to the npm client's own Watch (no rate limit) on
// a twin service that gets the same changes, both against the Consul test server.
//   node dist/benchmarks/consul/run.js [--scale 1] [--changes 50] [--spread 10s] [--quiet-minutes 10]
// The quiet window spans several blocking waits (5 m each by default) to see their rate.
// --scale multiplies every duration (wait, min_interval, the windows, the spread), so
// --scale 0.1 gives the same counts in a tenth of the time.
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Consul from 'consul';
import { configSchema } from '../../lib/config/schema';
import { parseDuration } from '../../lib/config/units';
import { ConsulSource } from '../../lib/discovery/consul-source';
import { ConsulTestServer } from '../../test/support/consul/server';
import { fmt, formatTable } from '../common/table';

const { values: opts } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    changes: { type: 'string', default: '50' },
    spread: { type: 'string', default: '10s' },
    'quiet-minutes': { type: 'string', default: '10' },
  },
});
const scale = Number(opts.scale);
const changes = Number(opts.changes);
const minuteMs = 60_000 * scale;
const quietMinutes = Number(opts['quiet-minutes']);
const spreadMs = (parseDuration(opts.spread) ?? 10_000) * scale;

const defaults = configSchema.parse({ consul: {}, pools: { p: { consul: { service: 'ours' } } } });
const consul = {
  ...defaults.consul!,
  wait: defaults.consul!.wait * scale,
  min_interval: defaults.consul!.min_interval * scale,
};

async function main(): Promise<void> {
  const server = await ConsulTestServer.start();
  consul.address = server.url;
  for (const service of ['ours', 'npm']) {
    for (let i = 1; i <= 3; i++) {
      server.registerService({ node: `${service}-${i}`, address: '127.0.0.1', service: { ID: `${service}-${i}`, Service: service, Port: 9000 + i }, checks: [{ Status: 'passing' }] });
    }
  }

  const source = new ConsulSource({ pool: 'p', service: defaults.pools.p!.consul!, consul });
  let deliveries = 0;
  let lastDelivery = 0;
  const firstDelivery = new Promise<void>((resolve) => source.once('deliver', () => resolve()));
  source.start({ replace: () => ((deliveries += 1), (lastDelivery = Date.now())) });

  const client = new Consul({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
  const watch = client.watch({ method: client.health.service, options: { service: 'npm', passing: 'true', wait: `${consul.wait}ms` } as Record<string, string> });
  let npmChanges = 0;
  watch.on('change', () => (npmChanges += 1));
  watch.on('error', () => {});

  const count = (service: string) => server.countRequests(`/v1/health/service/${service}`);
  async function window(minutes: number, run: () => Promise<void>): Promise<{ ours: number; npm: number; ourDeliveries: number; npmChanges: number }> {
    const start = { ours: count('ours'), npm: count('npm'), deliveries, npmChanges };
    const end = Date.now() + minutes * minuteMs;
    await run();
    await sleep(Math.max(0, end - Date.now()));
    return { ours: count('ours') - start.ours, npm: count('npm') - start.npm, ourDeliveries: deliveries - start.deliveries, npmChanges: npmChanges - start.npmChanges };
  }

  await firstDelivery;
  await server.waitForBlocked(2);
  const quiet = await window(quietMinutes, async () => {});

  let lastChange = 0;
  const burst = await window(1, async () => {
    for (let i = 0; i < changes; i++) {
      const status = i % 2 === 0 ? 'critical' : 'passing';
      server.setCheckStatus('service:ours-1', status);
      server.setCheckStatus('service:npm-1', status);
      lastChange = Date.now();
      await sleep(spreadMs / changes);
    }
  });

  watch.end();
  await source.stop();
  client.destroy();
  await server.close();

  console.log(`Consul load per watched service (wait ${consul.wait / scale / 1000}s, min_interval ${consul.min_interval / scale / 1000}s, burst ${consul.burst}; scale ${scale})\n`);
  console.log(
    formatTable(
      ['window', 'switchyard req/min', 'deliveries', 'npm Watch req/min', 'npm change events'],
      [
        [`quiet, ${quietMinutes} min`, fmt(quiet.ours / quietMinutes, 2), String(quiet.ourDeliveries), fmt(quiet.npm / quietMinutes, 2), String(quiet.npmChanges)],
        [`1 min from the first of ${changes} changes over ${fmt(spreadMs / scale / 1000, 1)}s`, String(burst.ours), String(burst.ourDeliveries), String(burst.npm), String(burst.npmChanges)],
      ],
    ),
  );
  console.log(`\nlast change → last delivery: ${fmt((lastDelivery - lastChange) / scale / 1000, 1)}s (bounded by min_interval)`);
}

void main();
