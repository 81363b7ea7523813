import t, { type Test } from 'tap';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ITL_DECAY, SignalScraper, type ScrapeTarget } from '../../../../lib/scheduling/signals/scraper';
import type { BackendSignals } from '../../../../lib/scheduling/types';
import { pool } from '../fakes';
import { SGLANG, TGI, VLLM } from './fixtures';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const MODELS = JSON.stringify({ object: 'list', data: [{ id: 'llama', object: 'model' }] });

/** A backend on 127.0.0.1:0 that counts requests per path and the most at once. */
async function backend(t: Test, handler: Handler) {
  const stats = { hits: new Map<string, number>(), active: 0, maxActive: 0 };
  const server = createServer((req, res) => {
    stats.hits.set(req.url!, (stats.hits.get(req.url!) ?? 0) + 1);
    stats.maxActive = Math.max(stats.maxActive, ++stats.active);
    res.on('close', () => stats.active--);
    handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, stats };
}

/** Serves `metrics` at /metrics and `models` at /v1/models (a status number = that error). */
const serve =
  (metrics: string | number, models: string | number = MODELS): Handler =>
  (req, res) => {
    const body = req.url === '/metrics' ? metrics : req.url === '/v1/models' ? models : 404;
    if (typeof body === 'number') res.writeHead(body).end();
    else res.end(body);
  };

function scraper(t: Test, over: Partial<ReturnType<typeof pool>['scrape']> = {}) {
  // A generous timeout: on a loaded CI machine a 500 ms scrape budget can expire.
  const s = new SignalScraper({ ...pool().scrape, timeout: 10_000, ...over }, { clock: () => 42_000 });
  t.teardown(() => s.stop());
  return s;
}

function target(url: string, inflight = 0): ScrapeTarget & { signals: BackendSignals } {
  return { id: 'b0', url, signals: { updatedAt: 0 }, inflight: () => inflight };
}

const flavours = [
  { name: 'vLLM', text: VLLM, want: { running: 5, waiting: 4, kvUsage: 0.375 } },
  { name: 'SGLang', text: SGLANG, want: { running: 7, waiting: 2, kvUsage: 0.75 } },
  { name: 'TGI', text: TGI, want: { running: 16, waiting: 6, kvUsage: undefined } },
];

for (const f of flavours) {
  t.test(`reads a ${f.name} backend into its signals`, async (t) => {
    const { url } = await backend(t, serve(f.text));
    const s = scraper(t);
    const tg = target(url, 3);
    s.track(tg);
    await s.scrapeNow('b0');
    const { running, waiting, kvUsage } = tg.signals;
    t.same({ running, waiting, kvUsage }, f.want);
    t.equal(tg.signals.updatedAt, 42_000);
    t.equal(tg.signals.inflightAtScrape, 3);
    t.same([...tg.signals.loadedModels!], ['llama']);
  });
}

t.test('a failed metrics scrape leaves updatedAt alone and reports the error', async (t) => {
  const { url } = await backend(t, serve(500));
  const s = scraper(t);
  const tg = target(url);
  s.track(tg);
  const event = once(s, 'scrape');
  await s.scrapeNow('b0');
  const [id, err] = await event;
  t.equal(id, 'b0');
  t.match((err as Error).message, /HTTP 500/);
  t.equal(tg.signals.updatedAt, 0);
  t.same([...tg.signals.loadedModels!], ['llama'], '/v1/models is independent');
});

t.test('a failed /v1/models makes residency unknown', async (t) => {
  const { url } = await backend(t, serve(VLLM, 404));
  const s = scraper(t);
  const tg = target(url);
  tg.signals.loadedModels = new Set(['old']);
  s.track(tg);
  await s.scrapeNow('b0');
  t.equal(tg.signals.loadedModels, undefined);
  t.equal(tg.signals.updatedAt, 42_000);
});

t.test('a backend that does not answer times out after scrape.timeout', async (t) => {
  const { url } = await backend(t, () => {}); // never answers
  const s = scraper(t, { timeout: 50 });
  s.track(target(url));
  const event = once(s, 'scrape');
  void s.scrapeNow('b0');
  const [, err] = await event;
  t.match((err as Error).message, /timed out after 50ms/);
});

t.test('scrapes on the interval, one scrape in flight per backend', async (t) => {
  const { url, stats } = await backend(t, (req, res) => setImmediate(() => serve(VLLM)(req, res)));
  const s = scraper(t, { interval: 10 });
  s.track(target(url));
  for (let i = 0; i < 4; i++) await once(s, 'scrape');
  void s.scrapeNow('b0'); // joins, never doubles, the scrape in flight
  void s.scrapeNow('b0');
  await once(s, 'scrape');
  t.ok(stats.hits.get('/metrics')! >= 5);
  t.ok(stats.maxActive <= 2, `at most one /metrics and one /v1/models at once, saw ${stats.maxActive}`);
});

t.test('untrack aborts the scrape in flight and discards its result', async (t) => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const { url } = await backend(t, (req, res) => void held.then(() => serve(VLLM)(req, res)));
  const s = scraper(t);
  const tg = target(url);
  s.track(tg);
  const done = s.scrapeNow('b0');
  s.untrack('b0');
  release();
  await done;
  t.equal(tg.signals.updatedAt, 0);
  await s.scrapeNow('b0'); // unknown id: nothing to do
});

t.test('a body over the size limit is refused', async (t) => {
  const { url } = await backend(t, (req, res) => {
    if (req.url !== '/metrics') return serve(VLLM)(req, res);
    const chunk = Buffer.alloc(1024 * 1024, '#');
    for (let i = 0; i < 9; i++) res.write(chunk);
    res.end();
  });
  const s = scraper(t);
  s.track(target(url));
  const event = once(s, 'scrape');
  await s.scrapeNow('b0');
  t.match(((await event)[1] as Error).message, /larger than/);
});

t.test('a base URL with a path and a trailing slash', async (t) => {
  const { url, stats } = await backend(t, (req, res) => {
    req.url = req.url!.replace(/^\/engine/, '');
    serve(VLLM)(req, res);
  });
  const s = scraper(t);
  const tg = { ...target(`${url}/engine/`) };
  s.track(tg);
  await s.scrapeNow('b0');
  t.equal(tg.signals.updatedAt, 42_000);
  t.ok(stats.hits.get('/engine/metrics'));
});

t.test('scrape.enabled false: track does nothing', async (t) => {
  const { url, stats } = await backend(t, serve(VLLM));
  const s = scraper(t, { enabled: false });
  s.track(target(url));
  await s.scrapeNow('b0');
  t.equal(stats.hits.size, 0);
});

t.test('inter-token latency: token-weighted mean of the histogram deltas over the last scrapes', async (t) => {
  let page = '';
  const { url } = await backend(t, (req, res) => serve(page)(req, res));
  const s = scraper(t, { interval: 600_000 }); // only the scrapes below
  const tg = target(url);
  s.track(tg);
  const hist = (sum: number, count: number) => `${VLLM}vllm:inter_token_latency_seconds_sum{model_name="llama"} ${sum}\nvllm:inter_token_latency_seconds_count{model_name="llama"} ${count}\n`;
  const d = ITL_DECAY;
  const steps: { name: string; page: string; want: number | undefined }[] = [
    { name: 'first scrape: a baseline, nothing measured', page: hist(1, 100), want: undefined },
    { name: 'Δsum / Δcount', page: hist(1.5, 150), want: 0.01 },
    { name: 'no tokens since: unchanged', page: hist(1.5, 150), want: 0.01 },
    { name: 'new tokens weigh more than the decayed earlier ones', page: hist(2.5, 200), want: (0.5 * d * d + 1) / (50 * d * d + 50) },
    { name: 'counters went back (engine restart): unknown', page: hist(0.1, 10), want: undefined },
    { name: 'after a restart, only the new engine counts', page: hist(0.4, 20), want: 0.03 },
    { name: 'no ITL histogram: unknown', page: VLLM, want: undefined },
  ];
  for (const step of steps) {
    page = step.page;
    await s.scrapeNow('b0');
    if (step.want === undefined) t.equal(tg.signals.itl, undefined, step.name);
    else t.ok(Math.abs(tg.signals.itl! - step.want) < 1e-12, `${step.name}: ${tg.signals.itl} ≈ ${step.want}`);
  }
});
