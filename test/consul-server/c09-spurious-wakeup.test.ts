// C09: a blocked query may return with a higher index and a byte-identical body.
import t from 'tap';
import { call, startConsul } from './helpers';

t.test('C09: spurious wake-up: index+1, identical body', async (t) => {
  const consul = await startConsul(t);
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc', Port: 80 } });
  const before = await call(consul.url, '/v1/health/service/svc');
  const blocked = call(consul.url, `/v1/health/service/svc?index=${before.index}&wait=30s`);
  await consul.waitForBlocked(1);
  consul.touchService('svc');
  const res = await blocked;
  t.ok(res.ms < 5000);
  t.equal(res.index, before.index! + 1);
  t.equal(res.text, before.text, 'byte-identical body');

  // An idempotent re-registration is not even a write: nothing moves.
  consul.registerService({ node: 'n1', service: { ID: 'a', Service: 'svc', Port: 80 } });
  t.equal(consul.serviceIndex('svc'), before.index! + 1);
});
