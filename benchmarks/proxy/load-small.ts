// Load generator for small JSON requests, in its own process so it does not share an
// event loop with what it measures:   node load-small.js URL CONNECTIONS SECONDS
// autocannon drives the load; latencies come from its per-response hook in fractional
// milliseconds (its own histogram keeps whole milliseconds only).
import autocannon from 'autocannon';
import { tell } from '../common/ipc';
import { percentile } from '../common/stats';
import { CHAT_BODY, JSON_HEADERS } from './workload';

export interface SmallLoadResult {
  ok: number;
  failed: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
}

const [url, connections, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const latencies: number[] = [];

const instance = autocannon(
  { url, connections, duration: seconds, method: 'POST', headers: JSON_HEADERS, body: CHAT_BODY, timeout: 10 },
  (err, result) => {
    if (err) throw err;
    tell('result', {
      ok: latencies.length,
      failed: result.errors + result.timeouts + result.non2xx,
      seconds: result.duration,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
    } satisfies SmallLoadResult);
  },
);
instance.on('response', (_client, statusCode, _bytes, ms) => {
  if (statusCode === 200) latencies.push(ms);
});
