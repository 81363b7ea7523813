// A backend for health-check tests: its /health answers a status the test sets, or hangs.
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { Test } from 'tap';
import { recorder } from './recorder';
import { listenLocal } from './listen';

/** A backend on 127.0.0.1 whose /health answers `status`, or never answers when `hang`. */
export async function healthBackend(t: Test) {
  const state = {
    status: 200,
    hang: false,
    /** Requests answered with the current `status` since it was last set through `set`. */
    served: 0,
    paths: new Set<string>(),
    inflight: 0,
    maxInflight: 0,
    arrivals: recorder<IncomingMessage>(),
    set(status: number) {
      this.status = status;
      this.served = 0;
    },
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.paths.add(req.url ?? '');
    state.arrivals.push(req);
    state.maxInflight = Math.max(state.maxInflight, ++state.inflight);
    res.on('close', () => state.inflight--);
    if (state.hang) return;
    state.served++;
    res.statusCode = state.status;
    res.end('ok');
  });
  return { state, url: await listenLocal(t, server) };
}
