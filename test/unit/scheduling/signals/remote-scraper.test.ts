// Scrapes run in the probe thread: the signals they write into a backend's own object on
// the main thread are what SignalScraper writes in-process (the oracle, beside it on the
// same backend), the in-flight count is taken when the scrape is sent, failures leave
// the metrics to go stale, and an untracked backend hears nothing more.
import t from 'tap';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { RemoteSignalScraper } from '../../../../lib/scheduling/signals/remote-scraper';
import { SignalScraper, type ScrapeTarget } from '../../../../lib/scheduling/signals/scraper';
import { ProbeThread } from '../../../../lib/health/probe-thread';
import type { ScrapeConfig } from '../../../../lib/config/schema';
import type { BackendSignals } from '../../../../lib/scheduling/types';
import { VLLM } from './fixtures';
import { listenLocal } from '../../../support/listen';

const CFG: ScrapeConfig = { enabled: true, path: '/metrics', models_path: '/v1/models', interval: 20, timeout: 2000, stale_after: 3000 };

type Test = tap.Test;

async function engine(t: Test) {
  const state = { metricsStatus: 200 };
  const server = createServer((req, res) => {
    if (req.url === '/metrics') res.writeHead(state.metricsStatus, { 'content-type': 'text/plain' }).end(VLLM);
    else if (req.url === '/v1/models') res.writeHead(200, { 'content-type': 'application/json' }).end('{"object":"list","data":[{"id":"llama","object":"model"}]}');
    else res.writeHead(404).end();
  });
  return { state, url: await listenLocal(t, server) };
}

/** A target whose in-flight count goes 1, 2, 3… each time it is read. */
function target(id: string, url: string): ScrapeTarget & { reads: number } {
  const tg = { id, url, signals: { updatedAt: 0 } as BackendSignals, reads: 0, inflight: () => ++tg.reads };
  return tg;
}

/** The fields both write alike (in-flight counts differ: the local one scraped more often while the thread started). */
const comparable = (s: BackendSignals) => ({ ...s, updatedAt: s.updatedAt > 0, inflightAtScrape: undefined, loadedModels: s.loadedModels ? [...s.loadedModels] : undefined });

t.test('a remote scrape writes what SignalScraper writes, with the in-flight count at send time', async (t) => {
  const e = await engine(t);
  const remote = new RemoteSignalScraper(CFG, { thread: new ProbeThread() });
  const local = new SignalScraper(CFG);
  t.teardown(() => Promise.all([remote.stop(), local.stop()]));
  const r = target('b', e.url);
  const l = target('b', e.url);
  const scraped = Promise.all([once(remote, 'scrape'), once(local, 'scrape')]);
  remote.track(r);
  local.track(l);
  const [[rid, rerr], [lid, lerr]] = await scraped;
  t.same([rid, rerr, lid, lerr], ['b', undefined, 'b', undefined], 'both scraped b without error');
  t.same(comparable(r.signals), comparable(l.signals), 'the same signals');
  t.match(r.signals, { running: 5, waiting: 4, inflightAtScrape: 1 }, 'values from the page; in-flight read once, when the scrape was sent');
  t.same([...(r.signals.loadedModels ?? [])], ['llama'], 'the model list');
});

t.test('a failed metrics scrape leaves the metrics to go stale and says why', async (t) => {
  const e = await engine(t);
  const remote = new RemoteSignalScraper(CFG, { thread: new ProbeThread() });
  t.teardown(() => remote.stop());
  const r = target('b', e.url);
  const first = once(remote, 'scrape');
  remote.track(r);
  await first;
  const at = r.signals.updatedAt;
  t.ok(at > 0, 'fresh after the first scrape');

  e.state.metricsStatus = 500;
  const [, error] = await once(remote, 'scrape');
  t.match(error, { message: /HTTP 500/ }, 'the error is passed on');
  t.equal(r.signals.updatedAt, at, 'updatedAt kept: the data ages into staleness');
  t.same([...(r.signals.loadedModels ?? [])], ['llama'], 'the model list still read');
});

t.test('an untracked backend hears nothing more; the others go on', async (t) => {
  const e = await engine(t);
  const remote = new RemoteSignalScraper(CFG, { thread: new ProbeThread() });
  t.teardown(() => remote.stop());
  const seen: string[] = [];
  let kept = 0;
  let wake: (() => void) | undefined;
  remote.on('scrape', (id: string) => {
    seen.push(id);
    if (id === 'kept' && ++kept >= 5) wake?.();
  });
  const first = once(remote, 'scrape');
  remote.track(target('gone', e.url));
  remote.track(target('kept', e.url));
  await first;
  remote.untrack('gone');
  const after = seen.filter((id) => id === 'gone').length;
  await new Promise<void>((resolve) => (wake = resolve));
  t.equal(seen.filter((id) => id === 'gone').length, after, 'no scrape of the untracked backend while the other had five');
});
