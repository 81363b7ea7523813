// Static discovery and the source factory.
import t from 'tap';
import { parseConfigText } from '../../../lib/config/load';
import type { Config } from '../../../lib/config/schema';
import { createSource } from '../../../lib/discovery/index';
import { ConsulSource } from '../../../lib/discovery/consul-source';
import { StaticSource } from '../../../lib/discovery/static';
import type { Endpoint } from '../../../lib/discovery/types';

function load(yaml: string): Config {
  const result = parseConfigText(yaml);
  if (!result.ok) throw new Error(result.problems.map((p) => p.message).join('; '));
  return result.config;
}

const config = load(`
consul: { address: http://127.0.0.1:1 }
pools:
  fixed:
    backends:
      - http://127.0.0.1:8001
      - { url: http://10.0.0.2:8002/, id: gpu-2, weight: 3, meta: { model: llama-3-8b, zone: a } }
  discovered:
    consul: { service: vllm }
`);

t.test('a static pool delivers its backends once, synchronously, with ids, weights and meta', async (t) => {
  const source = createSource('fixed', config.pools.fixed!, config);
  t.type(source, StaticSource);
  const deliveries: (readonly Endpoint[])[] = [];
  source.start({ replace: (set) => deliveries.push(set) });
  t.equal(deliveries.length, 1);
  t.same(deliveries[0], [
    { id: '127.0.0.1:8001', url: 'http://127.0.0.1:8001', weight: 1, meta: {} },
    { id: 'gpu-2', url: 'http://10.0.0.2:8002', weight: 3, meta: { model: 'llama-3-8b', zone: 'a' } },
  ]);
  t.ok(Object.isFrozen(deliveries[0]![1]), 'endpoints are immutable');
  t.match(source.status(), { kind: 'static', ok: true, detail: { backends: 2 } });
  await source.stop();
});

t.test('a consul pool gets a ConsulSource', async (t) => {
  const source = createSource('discovered', config.pools.discovered!, config);
  t.type(source, ConsulSource);
  t.equal(source.kind, 'consul');
  await source.stop();
});

t.test('a consul pool without a top-level consul section is refused', async (t) => {
  const { consul: _, ...withoutConsul } = config;
  t.throws(() => createSource('discovered', config.pools.discovered!, withoutConsul as Config), /no top-level `consul` section/);
});
