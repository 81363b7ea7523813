// Load generator for a fixed number of small JSON requests, in its own process:
//   node load-count.js URL CONNECTIONS REQUESTS
// Every request is answered before it reports (nothing is cut at the end), so a window that
// starts before it and ends after it holds exactly REQUESTS whole exchanges (../instructions.ts).
import autocannon from 'autocannon';
import { tell } from '../common/ipc';
import { CHAT_BODY, JSON_HEADERS } from './workload';

export interface CountLoadResult {
  /** 2xx responses. */
  ok: number;
  /** Errors, timeouts and other statuses. */
  failed: number;
  seconds: number;
}

const [url, connections, requests] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const started = performance.now();
autocannon(
  { url, connections, amount: requests, method: 'POST', headers: JSON_HEADERS, body: CHAT_BODY, timeout: 60 },
  (err, result) => {
    if (err) throw err;
    const failed = result.errors + result.timeouts + result.non2xx;
    tell('result', { ok: result['2xx'], failed, seconds: (performance.now() - started) / 1000 } satisfies CountLoadResult);
  },
);
