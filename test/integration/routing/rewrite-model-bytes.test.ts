// rewrite_model must change only the model: the rest of the body keeps its bytes, so
// numbers beyond 2^53 (seeds, logit_bias token ids written as numbers), number spellings,
// escapes and whitespace reach the upstream as the client wrote them.
import t from 'tap';
import { request } from 'undici';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { quietPool } from './support';

t.test('rewrite_model leaves every byte but the model value alone', async (t) => {
  const backend = await startBackend();
  const d = await startDaemon({
    pools: { p: quietPool([backend.url]) },
    routes: [{ name: 'alias', match: { model: 'alias' }, pool: 'p', rewrite_model: 'llama-3-8b-instruct' }],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });

  const cases: [string, string][] = [
    ['a seed above 2^53', '{"model":"alias","seed":12345678901234567890,"prompt":"x"}'],
    ['number spellings', '{"model":"alias","temperature":1.0,"top_p":1e-1,"n":-0,"prompt":"x"}'],
    ['escapes', '{"model":"alias","prompt":"caf\\u00e9 \\/ \\ud83e\\udd99"}'],
    ['whitespace', '{ "model" : "alias" ,\n  "prompt" : "x"\n}\n'],
  ];
  for (const [what, text] of cases) {
    const before = backend.requests.length;
    const r = await request(`${d.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
    await r.body.text();
    t.equal(r.statusCode, 200, `${what}: 200`);
    const got = backend.requests[before]!.body.toString('utf8');
    const want = text.replace(/"alias"/, '"llama-3-8b-instruct"');
    t.equal(got, want, `${what}: only the model value changed`);
  }
});
