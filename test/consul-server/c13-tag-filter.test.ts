// C13: repeated `tag` is AND; `filter` is a bexpr subset; a bad filter is a 500.
import Consul from 'consul';
import t from 'tap';
import type { HealthEntry } from '../support/consul/catalog';
import { consulFixture } from '../support/consul/fixtures';
import { call, portOf, startConsul } from './helpers';

t.test('C13: tag and filter', async (t) => {
  const consul = await startConsul(t, { datacenter: 'us-east-1' });
  consul.loadHealth(consulFixture<HealthEntry[]>('health-service.json'));
  const nodes = async (q: string) =>
    (await call(consul.url, `/v1/health/service/llm-inference?${q}`)).json<HealthEntry[]>().map((e) => e.Node.Node).sort();

  t.same(await nodes('tag=llama-3-70b-instruct&tag=openai-compatible'), ['gpu-node-01', 'gpu-node-02', 'gpu-node-03', 'gpu-node-04']);
  t.same(await nodes('tag=llama-3-70b-instruct&tag=mistral'), [], 'all tags must match');

  const cases: Array<[string, string[]]> = [
    ['Service.Meta.gpu_type == "H100-80GB"', ['gpu-node-02']],
    ['Service.Meta["gpu_type"] != "A100-80GB"', ['gpu-node-02', 'gpu-node-03']],
    ['"openai-compatible" in Service.Tags and Service.Meta.weight == "10"', ['gpu-node-01', 'gpu-node-04']],
    ['Service.ID == "llm-inference-gpu-node-03-8000" or (Node.Node == `gpu-node-01`)', ['gpu-node-01', 'gpu-node-03']],
    ['not (Service.Meta.zone == "us-east-1a")', ['gpu-node-02', 'gpu-node-03']],
    ['Node.Datacenter == "us-east-1" and Checks.Status == "critical"', ['gpu-node-03', 'gpu-node-04']],
    ['Checks.Status != "passing"', ['gpu-node-02', 'gpu-node-03', 'gpu-node-04']],
    ['Service.Tags contains "mistral"', []],
    ['"mistral" not in Service.Tags', ['gpu-node-01', 'gpu-node-02', 'gpu-node-03', 'gpu-node-04']],
    ['Service.Meta.gpu_type matches "^A100"', ['gpu-node-01', 'gpu-node-04']],
    ['Service.Address is empty', ['gpu-node-04']],
    ['Service.Port == 8000 and Service.Weights.Passing == 1', ['gpu-node-01', 'gpu-node-02', 'gpu-node-03', 'gpu-node-04']],
    ['Node.Meta.instance_type == "p4d.24xlarge"', ['gpu-node-01', 'gpu-node-04']],
  ];
  for (const [expr, expected] of cases) t.same(await nodes(`filter=${encodeURIComponent(expr)}`), expected, expr);

  for (const bad of ['garbage', 'Service.Meta.x ==', '(Service.ID == "a"', 'Bogus.Field == "x"']) {
    const res = await call(consul.url, `/v1/health/service/llm-inference?filter=${encodeURIComponent(bad)}`);
    t.equal(res.status, 500, `${bad}: 500, not 400`);
    t.match(res.text, /^Failed to create boolean expression evaluator: /, bad);
  }
  t.equal((await call(consul.url, '/v1/health/service/llm-inference?filter=garbage')).text.slice(0, 70), 'Failed to create boolean expression evaluator: 1:8 (7): no match found');

  const client = new Consul({ host: '127.0.0.1', port: portOf(consul.url) });
  t.teardown(() => client.destroy());
  const viaClient = await client.health.service({ service: 'llm-inference', filter: 'Service.Meta.gpu_type == "H100-80GB"' });
  t.same(viaClient.map((e: HealthEntry) => e.Node.Node), ['gpu-node-02'], 'the npm client filter parameter');
  // The .d.ts types `tag` as a string; the client turns an array into repeated tag= parameters.
  const tags = ['llama-3-70b-instruct', 'openai-compatible'] as unknown as string;
  t.equal((await client.health.service({ service: 'llm-inference', tag: tags })).length, 4, 'npm client array tag');
  t.same(consul.requests.at(-1)?.query.getAll('tag'), ['llama-3-70b-instruct', 'openai-compatible']);
});
