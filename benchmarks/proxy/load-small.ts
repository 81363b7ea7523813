// Load generator for small JSON requests, in its own process so it does not share an
// event loop with what it measures:   node load-small.js URL CONNECTIONS SECONDS
// (SECONDS measured, with a margin before and after).
// autocannon drives the load; latencies come from its per-response hook in fractional
// milliseconds (its own histogram keeps whole milliseconds only).
import autocannon from 'autocannon';
import { tell } from '../common/ipc';
import { percentile } from '../common/stats';
import { CHAT_BODY, JSON_HEADERS } from './workload';

export interface SmallLoadResult {
  /** Successful responses within the measured window. */
  ok: number;
  failed: number;
  /** Length of the measured window. */
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * The measured window leaves out the first and last quarter second: connections opening
 * at the start, and at the end the requests in flight that autocannon cuts when it stops
 * (a proxy that aborts the upstream of a request whose client left, as an inference proxy
 * must, pays for those cuts, and a count of responses does not include them). The load
 * runs throughout; the parent reads the proxy's CPU time at each 'mark'.
 */
const MARGIN_MS = 250;

const [url, connections, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const latencies: number[] = [];
let measuring = false;
let ok = 0;
let windowStart = 0;
let okAtStart = 0;
let windowOk = 0;
let windowSeconds = 0;

const instance = autocannon(
  {
    url,
    connections,
    duration: seconds + (2 * MARGIN_MS) / 1000,
    method: 'POST',
    headers: JSON_HEADERS,
    body: CHAT_BODY,
    timeout: 10,
  },
  (err, result) => {
    if (err) throw err;
    tell('result', {
      ok: windowOk,
      failed: result.errors + result.timeouts + result.non2xx,
      seconds: windowSeconds,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    } satisfies SmallLoadResult);
  },
);
instance.on('response', (_client, statusCode, _bytes, ms) => {
  if (statusCode !== 200) return;
  ok++;
  if (measuring) latencies.push(ms);
});
setTimeout(() => {
  measuring = true;
  windowStart = performance.now();
  okAtStart = ok;
  tell('mark', ok);
  setTimeout(() => {
    measuring = false;
    windowOk = ok - okAtStart;
    windowSeconds = (performance.now() - windowStart) / 1000;
    tell('mark', ok);
  }, seconds * 1000);
}, MARGIN_MS);
