// The worker thread that runs every pool's active health checks (see remote-checker.ts
// for why they do not run on the data plane's thread). It owns one ActiveHealthChecker
// per checker the main thread opens, and reports each check's result; the main thread
// keeps the verdicts and calls the pools back. Nothing here touches a request.
import { parentPort } from 'node:worker_threads';
import { ActiveHealthChecker } from './active-checker';
import type { ToWorker, FromWorker } from './check-protocol';

const port = parentPort;
if (!port) throw new Error('check-worker.js runs as a worker thread (lib/health/remote-checker.ts starts it)');

const checkers = new Map<number, ActiveHealthChecker>();

function post(m: FromWorker): void {
  port!.postMessage(m);
}

port.on('message', (m: ToWorker) => {
  switch (m.type) {
    case 'open':
      checkers.set(m.checker, new ActiveHealthChecker(m.cfg));
      return;
    case 'track': {
      const c = checkers.get(m.checker);
      if (!c) return;
      const { checker, id, seq } = m;
      c.track(id, m.url, () => {}, {
        initiallyHealthy: m.initiallyHealthy,
        // After the verdict is updated: send both, the main thread tells a change from its copy.
        onResult: (pass) => post({ type: 'result', checker, id, seq, pass, healthy: c.healthy(id) ?? pass }),
      });
      return;
    }
    case 'untrack':
      checkers.get(m.checker)?.untrack(m.id);
      return;
    case 'close': {
      const c = checkers.get(m.checker);
      checkers.delete(m.checker);
      void c?.stop();
      return;
    }
  }
});
