// Choosing the serving datacenter, and resolving `datacenters` / `nearest`.
import t from 'tap';
import { pickDatacenter, resolveDatacenters } from '../../../lib/discovery/consul-datacenters';

const view = (name: string, healthy: number | undefined, settled = true) => ({ name, healthy, settled });

t.test('the first datacenter with min_healthy instances serves', async (t) => {
  t.equal(pickDatacenter([view('dc1', 3), view('dc2', 5)], 2), 'dc1');
  t.equal(pickDatacenter([view('dc1', 1), view('dc2', 5)], 2), 'dc2', 'fails over below the threshold');
  t.equal(pickDatacenter([view('dc1', 2), view('dc2', 5)], 2), 'dc1', 'comes back at the threshold');
});

t.test('a less preferred datacenter waits for a more preferred one that has not been heard from', async (t) => {
  t.equal(pickDatacenter([view('dc1', undefined, false), view('dc2', 5)], 1), undefined);
  t.equal(pickDatacenter([view('dc1', undefined, true), view('dc2', 5)], 1), 'dc2', 'a failed datacenter is not waited for');
});

t.test('when none reaches the threshold the largest serves, preference breaking ties', async (t) => {
  t.equal(pickDatacenter([view('dc1', 1), view('dc2', 2), view('dc3', 2)], 3), 'dc2');
  t.equal(pickDatacenter([view('dc1', 0), view('dc2', 0)], 1), 'dc1', 'an empty answer is still an answer');
  t.equal(pickDatacenter([view('dc1', undefined), view('dc2', undefined)], 1), undefined, 'never answered: nothing to serve');
});

t.test('resolveDatacenters', async (t) => {
  const list = async () => ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-south-1'];
  t.same(await resolveDatacenters({ datacenters: ['b', 'a'] }, 'x', list), ['b', 'a'], 'an explicit list is used as written');
  t.same(await resolveDatacenters({}, 'dc7', list), ['dc7'], 'neither: the configured datacenter');
  t.same(await resolveDatacenters({}, undefined, list), [undefined], "neither and none configured: the agent's own");
  t.same(await resolveDatacenters({ nearest: 2 }, undefined, list), ['us-east-1', 'us-west-2', 'eu-west-1'], 'nearest: local then the N next by RTT');
  t.same(await resolveDatacenters({ nearest: 1 }, 'eu-west-1', list), ['eu-west-1', 'us-east-1'], 'a configured local DC leads and is not repeated');
  t.same(await resolveDatacenters({ nearest: 9 }, undefined, list), ['us-east-1', 'us-west-2', 'eu-west-1', 'ap-south-1'], 'N beyond what exists');
  await t.rejects(resolveDatacenters({ nearest: 1 }, undefined, async () => []), /no datacenters/);
});
