// An Attempt's first-byte deadline when undici has not started the request on a socket yet
// (no controller): the attempt still times out, and is aborted if undici starts it later.
import t from 'tap';
import type { ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { Attempt, type AttemptOutcome } from '../../../lib/proxy/forward';
import type { Backend } from '../../../lib/routing/backend';

// The deadline list's timer is unref'd; a ref'd handle keeps this process alive meanwhile.
const keepAlive = setInterval(() => {}, 60_000);
t.teardown(() => clearInterval(keepAlive));

t.test('a request undici never starts fails with a first-byte timeout, then is aborted if it starts', async (t) => {
  let handler: Dispatcher.DispatchHandler | undefined;
  const backend = { origin: 'http://127.0.0.1:1', dispatcher: { dispatch: (_o: unknown, h: Dispatcher.DispatchHandler) => ((handler = h), true) } } as unknown as Backend;
  const outcome = await new Promise<AttemptOutcome>((resolve) => {
    const attempt = new Attempt(
      {} as ServerResponse,
      { backend, method: 'GET', path: '/', headers: [], body: null, requestId: 'r', firstByteTimeout: 20, idleTimeout: 1000, retryStatuses: new Set() },
      { attemptDone: (_a, o) => resolve(o), backpressure: () => {} },
    );
    attempt.start();
  });
  t.match(outcome, { type: 'failed', kind: 'timeout' });
  t.equal((outcome as { error: { code: string } }).error.code, 'upstream_timeout_first_byte');
  let aborted: unknown;
  handler!.onRequestStart!({ abort: (e: unknown) => (aborted = e) } as unknown as Dispatcher.DispatchController, {});
  t.ok(aborted, 'started after it settled: aborted at once');
});
