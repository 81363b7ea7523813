// Bodies stream through with backpressure: a 200 MiB upload and a 200 MiB download pass
// while the proxy's resident memory stays flat (nothing is buffered whole).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';

const MiB = 1024 * 1024;
const TOTAL = 200 * MiB;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function source(bytes: number): Readable {
  const chunk = Buffer.alloc(64 * 1024, 120);
  let left = bytes;
  return new Readable({
    read() {
      if (left <= 0) return this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

t.test('200 MiB each way with flat memory', async (t) => {
  const backend = await startBackend(
    (req, res, _body, recorded) => {
      if (req.url === '/download') {
        const size = Number(req.headers['x-size'] ?? TOTAL);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        source(size).pipe(res);
      } else {
        res.end(JSON.stringify({ received: recorded.bodyLength }));
      }
    },
    { streamBody: true },
  );
  const d = await startDaemon({
    limits: { max_body_size: '1GiB' },
    pools: { p: { backends: [backend.url], strategy: 'round-robin' } },
    routes: [{ name: 'all', match: { path_prefix: '/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });
  const pid = d.proc.pid!;
  // Warm up first (V8 grows its heap and buffer pools once), then measure the 200 MiB runs.
  await (await request(`${d.url}/upload`, { method: 'POST', body: source(32 * MiB) })).body.text();
  for await (const _ of (await request(`${d.url}/download`, { headers: { 'x-size': String(32 * MiB) } })).body);
  const baseline = rssMiB(pid);
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 20);
  t.teardown(() => clearInterval(sampler));

  const up = await request(`${d.url}/upload`, { method: 'POST', body: source(TOTAL), headers: { 'content-type': 'application/octet-stream' } });
  t.same(await up.body.json(), { received: TOTAL }, 'the backend received all 200 MiB');

  const down = await request(`${d.url}/download`);
  let got = 0;
  for await (const c of down.body) got += (c as Buffer).length;
  t.equal(got, TOTAL, 'the client received all 200 MiB');
  clearInterval(sampler);
  const growth = peak - baseline;
  t.ok(growth < 32, `proxy RSS grew ${growth.toFixed(1)} MiB while 400 MiB passed (limit 32 MiB; buffering would cost 200)`);
});
