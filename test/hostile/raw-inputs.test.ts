// Hostile inputs on raw sockets against the real daemon (child process): each case of
// test/hostile/cases.ts is its own subtest. For every case: the status (or bare close) the
// client gets, that the server closes the connection, and proof about the backend: zero
// bytes received (its raw byte counter is unchanged and the next request it sees is the
// sentinel sent after the case), or exactly the sanitized request it received.
import t from 'tap';
import { CASES } from './cases';
import { runCase, startRig } from './harness';

t.test('hostile inputs on raw sockets', async (t) => {
  const { d, backend, other, ctx } = await startRig(t);
  CASES.forEach((c, n) => {
    t.test(c.name, (t) => runCase(t, c, d.port, backend, other, ctx, n));
  });
});
