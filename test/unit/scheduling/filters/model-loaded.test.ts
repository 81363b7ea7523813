import t from 'tap';
import { ModelLoadedFilter } from '../../../../lib/scheduling/filters/model-loaded';
import type { QueueView } from '../../../../lib/scheduling/signals/load';
import { NOW, fake, ids, request, type FakeInit } from '../fakes';

const lim = { queue: 5, kv: 0.8, inflight: 100 };
const M = 'llama-3-8b';

const cases: { name: string; queue?: QueueView; model?: string; input: [string, FakeInit][]; want: string[] }[] = [
  { name: 'no model in the request: unchanged', input: [['a', {}], ['b', { loadedModels: [M] }]], want: ['a', 'b'] },
  {
    name: 'keeps the backends that have the model loaded',
    model: M,
    input: [['a', { loadedModels: ['qwen'] }], ['b', { loadedModels: [M, 'qwen'] }], ['c', { loadedModels: [M] }]],
    want: ['b', 'c'],
  },
  { name: 'nobody has it: unchanged (someone must load it)', model: M, input: [['a', { loadedModels: ['qwen'] }], ['b', { loadedModels: [] }]], want: ['a', 'b'] },
  { name: 'residency unknown everywhere: unchanged', model: M, input: [['a', {}], ['b', {}]], want: ['a', 'b'] },
  { name: 'unknown residency is kept beside a known holder (no key moves on a missed scrape)', model: M, input: [['a', {}], ['b', { loadedModels: [M] }]], want: ['a', 'b'] },
  { name: 'known absence is dropped, unknown kept', model: M, input: [['a', {}], ['b', { loadedModels: ['qwen'] }], ['c', { loadedModels: [M] }]], want: ['a', 'c'] },
  {
    name: 'a saturated holder (queue) is dropped when another holder is free',
    model: M,
    input: [['a', { loadedModels: [M], waiting: 9 }], ['b', { loadedModels: [M], waiting: 1 }], ['c', { loadedModels: [] }]],
    want: ['b'],
  },
  {
    name: 'the estimated queue: requests sent since the scrape count',
    model: M,
    input: [['a', { loadedModels: [M], waiting: 0, inflightAtScrape: 0, inflight: 40 }], ['b', { loadedModels: [M], waiting: 1 }], ['c', { loadedModels: [] }]],
    want: ['b'],
  },
  {
    name: 'queue: scraped: requests sent since the scrape (a burst) do not saturate a holder',
    queue: 'scraped',
    model: M,
    input: [['a', { loadedModels: [M], waiting: 0, inflightAtScrape: 0, inflight: 40 }], ['b', { loadedModels: [M], waiting: 1 }], ['c', { loadedModels: [] }]],
    want: ['a', 'b'],
  },
  {
    name: 'queue: scraped: an engine queue at the threshold still saturates',
    queue: 'scraped',
    model: M,
    input: [['a', { loadedModels: [M], waiting: 5 }], ['b', { loadedModels: [M], waiting: 1 }]],
    want: ['b'],
  },
  {
    name: 'queue: none: an engine queue does not saturate, KV still does',
    queue: 'none',
    model: M,
    input: [['a', { loadedModels: [M], waiting: 50 }], ['b', { loadedModels: [M], kvUsage: 0.9 }], ['c', { loadedModels: [M], waiting: 0 }]],
    want: ['a', 'c'],
  },
  {
    name: 'every holder saturated (queue, KV, in-flight): unchanged, a backend without it may load it',
    model: M,
    input: [
      ['a', { loadedModels: [M], waiting: 5 }],
      ['b', { loadedModels: [M], kvUsage: 0.95 }],
      ['c', { loadedModels: [M], inflight: 100 }],
      ['d', { loadedModels: [] }],
    ],
    want: ['a', 'b', 'c', 'd'],
  },
  {
    name: 'stale metrics: queue and KV unknown, so a holder is not taken as saturated',
    model: M,
    input: [['a', { loadedModels: [M], waiting: 50, kvUsage: 0.99, stale: true }], ['b', { loadedModels: [] }]],
    want: ['a'],
  },
  { name: 'empty candidates', model: M, input: [], want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const input = c.input.map(([id, init]) => fake(id, init));
    const f = new ModelLoadedFilter(lim, c.queue);
    t.same(ids(f.filter(request({ model: c.model }), input, new Map(), NOW)), c.want);
  });
}
