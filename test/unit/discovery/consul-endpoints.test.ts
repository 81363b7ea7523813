// Mapping /v1/health/service answers to Endpoints.
import t from 'tap';
import type { HealthEntry } from '../../../lib/discovery/consul-client';
import { fingerprint, toEndpoints } from '../../../lib/discovery/consul-endpoints';
import { consulFixture } from '../../support/consul/fixtures';

const fixture = (name: string): HealthEntry[] => consulFixture<HealthEntry[]>(name);

function entry(id: string, over: { node?: string; address?: string; nodeAddress?: string; port?: number; meta?: Record<string, string> | null; passing?: number; dc?: string } = {}): HealthEntry {
  return {
    Node: { Node: over.node ?? 'n1', Address: over.nodeAddress ?? '10.0.0.1', Datacenter: over.dc ?? 'dc1' },
    Service: {
      ID: id,
      Service: 'vllm',
      Address: over.address ?? '',
      Port: 'port' in over ? over.port : 8000,
      Meta: over.meta === undefined ? {} : over.meta,
      Weights: { Passing: over.passing ?? 1, Warning: 1 },
    },
  };
}

t.test('the documented fixture maps to id ServiceID@dc, its address and port, Meta facts and the Meta weight', async (t) => {
  const [ep] = toEndpoints(fixture('health-service.passing.json'), undefined);
  t.same(ep, {
    id: 'llm-inference-gpu-node-01-8000@us-east-1',
    url: 'http://10.20.1.11:8000',
    weight: 10,
    meta: {
      model: 'llama-3-70b-instruct',
      model_version: '2024-07-23',
      gpu_type: 'A100-80GB',
      zone: 'us-east-1a',
      region: 'us-east-1',
      weight: '10',
      datacenter: 'us-east-1',
    },
    datacenter: 'us-east-1',
  });
});

t.test('an empty Service.Address falls back to the node address', async (t) => {
  const [ep] = toEndpoints([entry('a', { address: '', nodeAddress: '10.9.9.9' })], 'dc1');
  t.equal(ep!.url, 'http://10.9.9.9:8000');
});

t.test('IPv6 addresses are bracketed in the URL', async (t) => {
  const [ep] = toEndpoints([entry('a', { address: 'fd00::5' })], 'dc1');
  t.equal(ep!.url, 'http://[fd00::5]:8000');
});

t.test('weight: Meta weight, else Weights.Passing, else 1; a garbled Meta weight is ignored', async (t) => {
  const eps = toEndpoints(
    [entry('a', { meta: { weight: '0' } }), entry('b', { passing: 7 }), entry('c', { meta: { weight: 'heavy' }, passing: 3 }), entry('d', { meta: null })],
    'dc1',
  );
  t.same(eps.map((e) => [e.id, e.weight]), [['a@dc1', 0], ['b@dc1', 7], ['c@dc1', 3], ['d@dc1', 1]]);
});

t.test('instances without a port cannot be dialled and are left out', async (t) => {
  t.same(toEndpoints([entry('a', { port: undefined }), entry('b')], 'dc1').map((e) => e.id), ['b@dc1']);
});

t.test('a ServiceID registered on two nodes gets the node in its id; others keep ServiceID@dc', async (t) => {
  const eps = toEndpoints([entry('vllm', { node: 'n1' }), entry('vllm', { node: 'n2' }), entry('solo')], 'dc1');
  t.same(eps.map((e) => e.id), ['solo@dc1', 'vllm@n1@dc1', 'vllm@n2@dc1']);
});

t.test('output is sorted, so answer order (unstable in Consul) does not change the fingerprint', async (t) => {
  const a = toEndpoints([entry('x'), entry('y')], 'dc1');
  const b = toEndpoints([entry('y'), entry('x')], 'dc1');
  t.equal(fingerprint(a), fingerprint(b));
  t.not(fingerprint(a), fingerprint(toEndpoints([entry('x'), entry('y', { passing: 2 })], 'dc1')), 'a weight change is a change');
});
