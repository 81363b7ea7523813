// CONTRACT.md, "Errors to clients": "Every response carries x-request-id (the client's, or
// a new one)" — the answers to parser errors (400, 408, 431) and to CONNECT included.
import t from 'tap';
import { CASES } from './cases';
import { rawSend } from './raw';
import { startRig } from './harness';

t.test('every answer to a hostile input carries x-request-id', async (t) => {
  const { d, ctx } = await startRig(t);
  for (const c of CASES) {
    t.test(c.name, async (t) => {
      const r = await rawSend(d.port, c.bytes(ctx), { trickle: c.trickle, timeoutMs: 8000 });
      const final = r.heads.find((h) => h.status >= 200);
      t.ok(final?.headers['x-request-id'], `x-request-id on the ${final?.status} answer`);
    });
  }
});
