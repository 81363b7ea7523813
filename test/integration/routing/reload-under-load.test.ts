// Reloads under load: while short requests keep coming and 60 SSE streams are open, the
// config is reloaded 10 times (weights flipped between blue and green each time, and once
// the blue pool itself redefined, so its old incarnation is retired with streams on it).
// No request fails, every stream receives every event through every reload and ends
// normally, and each stream finishes on the pool (and backend) it began on.
import t from 'tap';
import type { ServerResponse } from 'node:http';
import { request, type Dispatcher } from 'undici';
import { startBackend, type Handler } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { agent, call, closeAgents } from '../../support/http';
import { isReloaded, metricsText, nextLog, quietPool, sample } from './support';

const STREAMS_PER_WAVE = 30;
const RELOADS = 10;
const MAX_SHORT = 20_000; // bound on the background load, whatever happens
const SSE_HEAD = { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' };

interface Upstream {
  res: ServerResponse;
  side: string;
}

/** Short requests answer at once; /v1/stream opens an SSE stream the test writes to. */
function sideHandler(side: string, streams: Map<string, Upstream>): Handler {
  return (req, res) => {
    if (req.url === '/v1/stream') {
      res.writeHead(200, { ...SSE_HEAD, 'x-served-by': side });
      res.write('data: open\n\n');
      streams.set(String(req.headers['x-stream-id']), { res, side });
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-served-by': side });
    res.end('{"ok":true}');
  };
}

/** The client end of one stream: reads until a marker arrives, keeping what came. */
class ClientStream {
  text = '';
  ended = false;
  private readonly it: AsyncIterator<Buffer>;
  constructor(
    readonly id: string,
    readonly servedBy: string,
    body: Dispatcher.ResponseData['body'],
  ) {
    this.it = body[Symbol.asyncIterator]();
  }
  async readUntil(marker: string): Promise<void> {
    while (!this.text.includes(marker)) {
      const n = await this.it.next();
      if (n.done) throw new Error(`stream ${this.id} ended before ${JSON.stringify(marker)}; got ${JSON.stringify(this.text)}`);
      this.text += n.value.toString();
    }
  }
  async readToEnd(): Promise<void> {
    for (;;) {
      const n = await this.it.next();
      if (n.done) break;
      this.text += n.value.toString();
    }
    this.ended = true;
  }
}

t.test('10 reloads with 60 streams open and short requests flowing', async (t) => {
  const upstreams = new Map<string, Upstream>();
  const blue = await startBackend(sideHandler('blue', upstreams));
  const green = await startBackend(sideHandler('green', upstreams));
  const config = (blueW: number, greenW: number, blueIdle = '60s') => ({
    log: { access: false },
    pools: {
      blue: quietPool([blue.url], { timeouts: { idle: blueIdle } }),
      green: quietPool([green.url]),
    },
    routes: [{ name: 'chat', match: { path_prefix: '/v1/' }, split: { blue: blueW, green: greenW } }],
  });
  const d = await startDaemon(config(100, 0));
  const streamAgent = agent();
  const loadAgent = agent();
  t.teardown(async () => {
    for (const u of upstreams.values()) u.res.destroy();
    await closeAgents();
    await d.stop('SIGKILL');
    await Promise.all([blue.close(), green.close()]);
  });

  const clients: ClientStream[] = [];
  let nextId = 0;
  async function openWave(): Promise<ClientStream[]> {
    const wave = await Promise.all(
      Array.from({ length: STREAMS_PER_WAVE }, async () => {
        const id = `s${nextId++}`;
        const r = await request(`${d.url}/v1/stream`, { method: 'POST', body: '{"stream":true}', headers: { 'x-stream-id': id }, dispatcher: streamAgent });
        if (r.statusCode !== 200) throw new Error(`stream ${id}: status ${r.statusCode}`);
        const c = new ClientStream(id, String(r.headers['x-served-by']), r.body);
        await c.readUntil('data: open\n\n');
        return c;
      }),
    );
    clients.push(...wave);
    return wave;
  }
  /** One more event on every open stream, each seen by its client. */
  async function tick(n: number): Promise<void> {
    for (const c of clients) upstreams.get(c.id)!.res.write(`data: ${n}\n\n`);
    await Promise.all(clients.map((c) => c.readUntil(`data: ${n}\n\n`)));
  }

  // Background load: short requests until the reloads are done.
  let stop = false;
  const statuses: number[] = [];
  const bySide: Record<string, number> = {};
  const failures: string[] = [];
  const load = Promise.all(
    Array.from({ length: 16 }, async () => {
      while (!stop && statuses.length < MAX_SHORT) {
        try {
          const r = await call(`${d.url}/v1/chat/completions`, { body: '{}', dispatcher: loadAgent });
          statuses.push(r.status);
          bySide[String(r.headers['x-served-by'])] = (bySide[String(r.headers['x-served-by'])] ?? 0) + 1;
          if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
        } catch (err) {
          statuses.push(0);
          failures.push(String(err));
        }
      }
    }),
  );

  const wave0 = await openWave();
  t.same([...new Set(wave0.map((c) => c.servedBy))], ['blue'], 'wave 0 (blue 100, green 0) opened on blue');

  let ticks = 0;
  let waveGreen: ClientStream[] = [];
  for (let i = 1; i <= RELOADS; i++) {
    const toGreen = i % 2 === 1;
    // Reload 2 also redefines the blue pool: its old incarnation is retired with wave 0 on it.
    const next = config(toGreen ? 0 : 100, toGreen ? 100 : 0, i >= 2 ? '59s' : '60s');
    const reloaded = nextLog(d, isReloaded);
    d.writeConfig(next);
    await reloaded;
    await tick(++ticks);
    if (i === 1) {
      waveGreen = await openWave();
      t.same([...new Set(waveGreen.map((c) => c.servedBy))], ['green'], 'wave 1, opened after the flip, is on green');
    }
    const probe = await call(`${d.url}/v1/chat/completions`, { body: '{}', dispatcher: loadAgent });
    t.equal(probe.headers['x-served-by'], toGreen ? 'green' : 'blue', `after reload ${i}, new requests go to ${toGreen ? 'green' : 'blue'}`);
  }
  stop = true;
  await load;

  t.equal(failures.length, 0, `no failed short request (${failures.slice(0, 3).join('; ')})`);
  t.ok(statuses.length > 100, `${statuses.length} short requests during the reloads`);
  t.ok((bySide.blue ?? 0) > 0 && (bySide.green ?? 0) > 0, `both sides served short requests (blue ${bySide.blue}, green ${bySide.green})`);
  t.equal(ticks, RELOADS, `every stream received an event after each of the ${RELOADS} reloads`);

  // Finish every stream: a last event and [DONE], then the end of the response.
  for (const c of clients) upstreams.get(c.id)!.res.end('data: [DONE]\n\n');
  await Promise.all(clients.map((c) => c.readToEnd()));
  const expected = ['data: open\n\n', ...Array.from({ length: RELOADS }, (_, i) => `data: ${i + 1}\n\n`), 'data: [DONE]\n\n'];
  const complete = clients.filter((c) => c.ended && c.text.endsWith('data: [DONE]\n\n'));
  t.equal(complete.length, clients.length, `all ${clients.length} streams completed with [DONE]`);
  t.equal(wave0.filter((c) => c.text === expected.join('')).length, STREAMS_PER_WAVE, 'wave 0 got every event, in order');
  t.equal(
    waveGreen.filter((c) => c.text === ['data: open\n\n', ...expected.slice(2)].join('')).length,
    STREAMS_PER_WAVE,
    'wave 1 got every event since it opened, in order',
  );
  t.same(
    clients.map((c) => upstreams.get(c.id)!.side),
    clients.map((c) => c.servedBy),
    'each stream ended on the backend it began on',
  );
  t.equal(blue.requests.filter((r) => r.url === '/v1/stream').length, STREAMS_PER_WAVE, 'blue saw exactly wave 0');
  t.equal(green.requests.filter((r) => r.url === '/v1/stream').length, STREAMS_PER_WAVE, 'green saw exactly wave 1');

  const metrics = await metricsText(d);
  t.equal(sample(metrics, 'switchyard_config_reloads_total', { result: 'success' }), RELOADS, `${RELOADS} successful reloads counted`);
  t.equal(sample(metrics, 'switchyard_upstream_errors_total'), undefined, 'no upstream error was recorded');
  for (const line of metrics.split('\n').filter((l) => l.startsWith('switchyard_requests_total{'))) {
    t.match(line, /code="200"/, `only 200s counted: ${line}`);
  }
});
