// A backend killed in the middle of a stream (reliability.md §5 and §7, "Backend killed
// mid-stream"): the first token already went to the client, so the request must not be
// retried (the retry boundary is the first body byte). The client sees its stream cut
// (an abnormal end, never `data: [DONE]`), the other backends never see the request
// (no duplicate generation), and the failure counts against the killed backend.
import t from 'tap';
import { events, metric, openStream, startRig } from './rig';

t.test('backend killed mid-stream: cut stream, no [DONE], no retry, counted', async (t) => {
  const rig = await startRig(t, { pool: { retries: { max: 2 } } });
  const before = new Map(rig.fleet.instances.map((i) => [i.id, i.state().counters.inference_requests!]));

  const s = await openStream(rig);
  t.equal(s.status, 200);
  const victim = rig.fleet.byId(s.backend)!;
  t.ok(victim, `served by a sim (${s.backend})`);
  t.ok(await s.readUntil((x) => events(x) >= 3), 'three events arrived before the kill');
  t.notMatch(s.received, /\[DONE\]/, 'the stream was still running at the kill');

  victim.setFailure({ crash: 1000 }); // every socket reset; down for the rest of the test
  const end = await s.readToEnd();

  t.type(end, Error, `the client sees an abnormal end (${end instanceof Error ? end.message : end})`);
  t.notMatch(s.received, /\[DONE\]/, 'never data: [DONE]');
  t.ok(events(s.received) >= 3, `the tokens sent before the kill were delivered (${events(s.received)} events)`);

  for (const other of rig.fleet.instances.filter((i) => i !== victim)) {
    t.equal(other.state().counters.inference_requests, before.get(other.id), `${other.id} never saw the request (no duplicate generation)`);
  }
  t.equal(await metric(rig, 'switchyard_retries_total', { pool: 'p' }), 0, 'no retry after the first byte');
  t.equal(
    await metric(rig, 'switchyard_upstream_errors_total', { pool: 'p', backend: rig.idOf(victim), kind: 'reset' }),
    1,
    'the cut counts as an upstream reset of the killed backend',
  );
  const line = await rig.d.waitForLog((l) => l.type === 'access' && l.outcome !== 'ok');
  t.match(line, { status: 200, attempts: 1, outcome: 'upstream_error', backend: rig.idOf(victim) }, 'access log: one attempt, upstream_error');
});
