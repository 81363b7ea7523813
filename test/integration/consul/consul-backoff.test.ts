// A burst of 500s from Consul: the daemon's watch backs off like Consul's api/watch
// (plan.go: 5 s·failures², ±20 %) instead of hammering the agent, traffic keeps the last
// set, and the first success after the burst delivers what changed meanwhile.
import t from 'tap';
import type { LoggedRequest } from '../../support/consul/server';
import { backends, consulRig, failed, nextLog, register, SERVICE, traffic } from './support';

const HEALTH = `/v1/health/service/${SERVICE}`;
const watchFailed = (l: { msg: string }) => l.msg === 'consul: watch failed, keeping the last set';

t.test('a burst of 500s backs off (5 s, then 20 s), traffic is untouched, and the first success catches up', async (t) => {
  const { consul, a, b, c, d } = await consulRig(t, 2);
  await consul.waitForBlocked();
  const tr = traffic(t, d.url, 2, 20);

  const armed = Date.now();
  const isHealth = (r: LoggedRequest) => r.path === HEALTH && r.time >= armed;
  const firstFailure = nextLog(d, watchFailed);
  consul.failNext(2, { status: 500, body: 'rpc error making call: rpc error: EOF', path: '/v1/health/service/' });
  const f1 = await firstFailure;
  t.match(f1, { failures: 1, err: /500|EOF/ }, 'the first 500 is logged');
  t.ok((f1.retryMs as number) >= 4000 && (f1.retryMs as number) <= 6000, `first backoff ${f1.retryMs} ms (5 s ± 20 %)`);

  // A change Consul holds while the watch cannot read it.
  register(consul, c, 'c');

  const f2 = await nextLog(d, watchFailed, 10_000);
  t.ok((f2.retryMs as number) >= 16_000 && (f2.retryMs as number) <= 24_000, `second backoff ${f2.retryMs} ms (20 s ± 20 %)`);
  const failedReqs = consul.requests.filter(isHealth);
  t.equal(failedReqs.length, 2, 'two requests for two 500s: no retry storm');
  const gap = failedReqs[1]!.time - failedReqs[0]!.time;
  t.ok(gap >= 3900, `the retry came ${gap} ms after the first 500`);

  const recovered = await consul.waitForRequest((r) => isHealth(r) && r.time > failedReqs[1]!.time, 30_000);
  const quiet = recovered.time - failedReqs[1]!.time;
  t.ok(quiet >= 15_500, `nothing was asked for ${quiet} ms after the second 500`);
  t.equal(consul.requests.filter(isHealth).length, 3, 'three requests over the whole burst');

  const first = await tr.until((s) => s.backend === c.id, recovered.time, 5000, `on ${c.id}`);
  t.ok(first.done - recovered.time <= 1000, `the instance registered during the burst serves ${first.done - recovered.time} ms after the first success`);
  const during = tr.between(armed, recovered.time);
  t.same(backends(during), [a.id, b.id].sort(), `during the burst the last known set served (${during.length} requests)`);
  await tr.stop();
  t.same(failed(tr.log), [], `all ${tr.log.length} requests answered 200`);
});
