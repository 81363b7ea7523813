// All backends saturated (reliability.md §7, "All saturated": bounded queue, no wait beyond
// the queue timeout, memory bounded). Every backend is at breaker.max_requests_per_backend;
// further requests wait in the pool's bounded priority queue and are served highest
// priority first; a full queue refuses sheddable requests at once (429, queue_full) and
// evicts the newest lower-priority waiter for a higher-priority arrival (429, priority); a
// waiter is shed after queue.timeout (429, queue_timeout). The daemon's RSS stays bounded
// under bursts of 8,000 refused requests. The daemon runs with a 64 MiB old space: V8 then
// collects instead of growing lazily (without a cap its RSS creeps ~3 MiB per 2,000
// requests and comes back at a major GC), so memory that requests leave behind would show
// as growth, or as the daemon dying of it.
//
// Priority is per route (routes.priority). The proxy reads no per-request priority header;
// the routes below match on an `x-priority` header to give clients that choice.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { chat, chatBody, metric, poolStatus, pollUntil, runLoad, startRig, type ChatResult, type Rig } from './rig';

const PER_BACKEND = 2;
const QUEUE_MAX = 4;
const QUEUE_TIMEOUT_MS = 1500;
const HANG = { stall_first_token_ms: 3_600_000 };

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

const send = (rig: Rig, priority: string | undefined, tag: string, signal?: AbortSignal) =>
  chat(rig, { body: chatBody({ content: tag }), headers: priority ? { 'x-priority': priority, 'x-request-id': tag } : { 'x-request-id': tag }, signal });

const queued = async (rig: Rig) => (await poolStatus(rig)).queued;
const code = (r: ChatResult) => (r.text ? (JSON.parse(r.text) as { error?: { code?: string } }).error?.code : undefined);

t.test('all backends saturated: bounded priority queue, 429s for the sheddable first, flat memory', async (t) => {
  const route = (name: string, priority: string, headers?: Record<string, string>) => ({ name, match: { path_prefix: '/v1/', ...(headers ? { headers } : {}) }, pool: 'p', priority });
  const rig = await startRig(t, {
    env: { NODE_OPTIONS: '--max-old-space-size=64' },
    config: { shutdown: { drain_timeout: '1s' } },
    pool: {
      timeouts: { first_byte: '60s' },
      breaker: { max_requests_per_backend: PER_BACKEND },
      queue: { max: QUEUE_MAX, timeout: `${QUEUE_TIMEOUT_MS}ms` },
      retries: { max: 0 },
    },
    routes: [
      route('critical', 'critical', { 'x-priority': 'critical' }),
      route('sheddable', 'sheddable', { 'x-priority': 'sheddable' }),
      route('standard', 'standard'),
    ],
  });
  const sims = rig.fleet.instances;
  const arrived = () => Promise.resolve(sims.reduce((n, i) => n + i.state().counters.inference_requests!, 0));
  for (const i of sims) i.setFailure(HANG);
  const holders = Array.from({ length: sims.length * PER_BACKEND }, () => new AbortController());
  t.teardown(() => holders.forEach((h) => h.abort()));

  // 1. Fill every slot with hanging standard requests.
  const held = holders.map((h, i) => send(rig, undefined, `held-${i}`, h.signal));
  t.ok((await pollUntil(arrived, (n) => n === holders.length, 5000)).ok, `all ${holders.length} slots busy`);

  // 2. Four sheddable requests wait in the queue.
  const waiting = Array.from({ length: QUEUE_MAX }, (_, i) => send(rig, 'sheddable', `shed-${i}`));
  const q = await pollUntil(() => queued(rig), (x) => x.sheddable === QUEUE_MAX, 5000);
  t.same(q.value, { critical: 0, standard: 0, sheddable: QUEUE_MAX }, 'the queue holds 4 sheddable');

  // 3. The queue is full: another sheddable is refused at once.
  const refused = await send(rig, 'sheddable', 'shed-refused');
  t.equal(refused.status, 429, 'a sheddable request to a full queue: 429');
  t.equal(code(refused), 'overloaded', 'error code overloaded');
  t.ok(Number(refused.headers['retry-after']) >= 1, 'with Retry-After');
  t.ok(refused.ms < QUEUE_TIMEOUT_MS, `at once (${refused.ms} ms)`);
  t.equal(await metric(rig, 'switchyard_shed_total', { pool: 'p', reason: 'queue_full' }), 1, 'shed_total{reason=queue_full} = 1');

  // 4. A critical and a standard arrival each evict the newest sheddable waiter.
  const critical = send(rig, 'critical', 'critical-0');
  const standard = send(rig, undefined, 'standard-0');
  const evicted = await Promise.all([waiting[3]!, waiting[2]!]);
  t.same(evicted.map((r) => r.status), [429, 429], 'the two newest sheddable waiters were shed');
  t.equal(await metric(rig, 'switchyard_shed_total', { pool: 'p', reason: 'priority' }), 2, 'shed_total{reason=priority} = 2');
  t.same(await queued(rig), { critical: 1, standard: 1, sheddable: 2 }, 'queue: 1 critical, 1 standard, 2 sheddable (never above 4)');

  // 5. One slot frees (a client leaves; the backends are well again): highest priority first.
  for (const i of sims) i.setFailure({ stall_first_token_ms: 0 });
  const order: string[] = [];
  const track = (p: Promise<ChatResult>, tag: string) => p.then((r) => (order.push(tag), r));
  const served = Promise.all([track(critical, 'critical'), track(standard, 'standard'), track(waiting[0]!, 'sheddable-0'), track(waiting[1]!, 'sheddable-1')]);
  holders[0]!.abort();
  const r = await served;
  t.same(r.map((x) => x.status), [200, 200, 200, 200], 'the queued requests were served');
  t.same(order, ['critical', 'standard', 'sheddable-0', 'sheddable-1'], 'in priority order, FIFO within a priority');

  // 6. Saturated again: a waiter is shed at queue.timeout, not later.
  for (const i of sims) i.setFailure(HANG);
  const refill = new AbortController();
  t.teardown(() => refill.abort());
  const before = await arrived();
  const refilled = send(rig, undefined, 'refill', refill.signal);
  t.ok((await pollUntil(arrived, (n) => n === before + 1, 5000)).ok, 'every slot busy again');
  const timedOut = await send(rig, 'sheddable', 'shed-timeout');
  t.equal(timedOut.status, 429, 'a waiter past queue.timeout: 429');
  t.ok(timedOut.ms >= QUEUE_TIMEOUT_MS - 50 && timedOut.ms < QUEUE_TIMEOUT_MS + 1000, `shed after queue.timeout ${QUEUE_TIMEOUT_MS} ms (${timedOut.ms} ms)`);
  t.equal(await metric(rig, 'switchyard_shed_total', { pool: 'p', reason: 'queue_timeout' }), 1, 'shed_total{reason=queue_timeout} = 1');

  // 7. Bursts of 8,000 sheddable requests against the saturated pool: all refused or shed
  //    within the queue timeout, the queue never above its bound, memory bounded.
  const pid = rig.d.proc.pid!;
  await runLoad(500, 50, (i) => send(rig, 'sheddable', `warm-${i}`)); // warm up allocations first
  const rssBefore = rssBytes(pid);
  let maxQueued = 0;
  let rssMax = rssBefore;
  const statuses = new Set<number>();
  let maxMs = 0;
  for (let round = 0; round < 4; round++) {
    const burst = await runLoad(2000, 50, async (i) => {
      if (i % 250 === 0) {
        const x = await queued(rig);
        maxQueued = Math.max(maxQueued, x.critical + x.standard + x.sheddable);
      }
      return send(rig, 'sheddable', `burst-${round}-${i}`);
    });
    for (const x of burst) {
      statuses.add(x.status);
      maxMs = Math.max(maxMs, x.ms);
    }
    rssMax = Math.max(rssMax, rssBytes(pid));
  }
  t.same([...statuses], [429], 'all 8,000 answered 429');
  t.ok(maxMs < QUEUE_TIMEOUT_MS + 1000, `no wait beyond queue.timeout (max ${maxMs} ms)`);
  t.ok(maxQueued <= QUEUE_MAX, `queue length never above ${QUEUE_MAX} (max seen ${maxQueued})`);
  t.equal(rig.d.proc.exitCode, null, 'the daemon is alive');
  const growth = (rssMax - rssBefore) / 2 ** 20;
  t.ok(growth < 48, `daemon RSS bounded: ${(rssBefore / 2 ** 20).toFixed(1)} MiB, at most ${(rssMax / 2 ** 20).toFixed(1)} MiB (+${growth.toFixed(1)} < 48 MiB)`);

  holders.forEach((h) => h.abort());
  refill.abort();
  await Promise.all([...held, refilled]);
});
