import t from 'tap';
import { ServesModelFilter } from '../../../../lib/scheduling/filters/serves-model';
import { NOW, fake, ids, request } from '../fakes';

const f = new ServesModelFilter();
const any = fake('any');
const llama = fake('llama', { serves: ['llama-3-8b'] });
const both = fake('both', { serves: ['qwen', 'llama-3-8b'] });
const qwen = fake('qwen', { serves: ['qwen'] });

const cases = [
  { name: 'no model in the request: unchanged', model: undefined, input: [any, llama, qwen], want: ['any', 'llama', 'qwen'] },
  { name: 'keeps listers of the model and non-listers', model: 'llama-3-8b', input: [any, llama, both, qwen], want: ['any', 'llama', 'both'] },
  { name: 'drops every backend that lists other models only', model: 'mistral', input: [llama, qwen], want: [] },
  { name: 'empty candidates', model: 'qwen', input: [], want: [] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(ids(f.filter(request({ model: c.model }), c.input, new Map(), NOW)), c.want);
  });
}

t.test('loaded-model signals do not matter, discovery Meta does', async (t) => {
  const loadedButNotServed = fake('x', { serves: ['qwen'], loadedModels: ['llama-3-8b'] });
  t.same(ids(f.filter(request({ model: 'llama-3-8b' }), [loadedButNotServed], new Map(), NOW)), []);
});
