import t from 'tap';
import { readModelList } from '../../../../lib/scheduling/signals/models';

const cases: { name: string; body: unknown; want: string[] | undefined }[] = [
  {
    name: 'vLLM list with a LoRA adapter',
    body: { object: 'list', data: [{ id: 'llama', object: 'model' }, { id: 'sql-lora', parent: 'llama' }] },
    want: ['llama', 'sql-lora'],
  },
  { name: 'empty list', body: { object: 'list', data: [] }, want: [] },
  { name: 'entries without a string id are skipped', body: { data: [{ id: 3 }, null, { id: 'm' }] }, want: ['m'] },
  { name: 'not a list', body: { data: 'x' }, want: undefined },
  { name: 'null body', body: null, want: undefined },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const got = readModelList(c.body);
    t.same(got && [...got], c.want);
  });
}
