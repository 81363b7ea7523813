import t from 'tap';
import { ExplainLog } from '../../../lib/scheduling/explain';
import type { Decision } from '../../../lib/scheduling/types';

const decision = (picked: string): NonNullable<Decision['explain']> => ({
  profile: 'least-queue',
  candidates: 2,
  filtered: { exclude: 2 },
  scored: [{ id: picked, scores: { queue: 1 }, total: 1 }],
  picked,
});

t.test('records, finds by request id, lists newest first', async (t) => {
  let now = 0;
  const log = new ExplainLog(3, () => ++now);
  log.record('r1', decision('a'));
  log.record('r2', decision('b'));
  t.same(log.get('r1'), { ...decision('a'), requestId: 'r1', at: 1 });
  t.same(log.recent(10).map((r) => r.requestId), ['r2', 'r1']);
  t.same(log.recent(1).map((r) => r.requestId), ['r2']);
  t.same(log.recent(0), []);
  t.equal(log.get('nope'), undefined);
});

t.test('bounded: the oldest is overwritten and no longer found', async (t) => {
  const log = new ExplainLog(2);
  for (const id of ['r1', 'r2', 'r3']) log.record(id, decision(id));
  t.equal(log.get('r1'), undefined);
  t.equal(log.get('r3')?.picked, 'r3');
  t.same(log.recent(5).map((r) => r.requestId), ['r3', 'r2']);
});

t.test('a retried request keeps its latest decision, even after the first is overwritten', async (t) => {
  const log = new ExplainLog(2);
  log.record('r1', decision('a'));
  log.record('r1', decision('b'));
  log.record('r2', decision('c')); // overwrites the first r1 record
  t.equal(log.get('r1')?.picked, 'b');
});

t.test('capacity 0 and decisions without explain keep nothing', async (t) => {
  const off = new ExplainLog(0);
  off.record('r1', decision('a'));
  t.equal(off.get('r1'), undefined);
  t.same(off.recent(3), []);
  const on = new ExplainLog(2);
  on.record('r1', undefined);
  t.same(on.recent(3), []);
});
