// Per-key rate limits on a route: requests per minute and (estimated) tokens per minute,
// keyed by a header; the over-limit request gets 429 with Retry-After and is not forwarded.
import t from 'tap';
import { startBackend } from '../../support/backend';
import { startDaemon } from '../../support/daemon';
import { call, chat } from '../../support/http';

t.test('rate limits per key', async (t) => {
  const backend = await startBackend();
  const d = await startDaemon({
    pools: { p: { backends: [backend.url], strategy: 'round-robin' } },
    routes: [
      // Spelled as an operator might: header names match whatever their case.
      { name: 'rpm', match: { path_prefix: '/rpm' }, pool: 'p', rate_limit: { key_header: 'X-Api-Key', requests_per_minute: 2 } },
      { name: 'tpm', match: { path_prefix: '/tpm' }, pool: 'p', rate_limit: { key_header: 'x-api-key', tokens_per_minute: 1000 } },
    ],
  });
  t.teardown(async () => {
    await d.stop();
    await backend.close();
  });

  t.test('requests per minute', async (t) => {
    const a = { 'x-api-key': 'key-a' };
    t.equal((await call(`${d.url}/rpm/1`, { headers: a })).status, 200);
    t.equal((await call(`${d.url}/rpm/2`, { headers: a })).status, 200);
    const before = backend.requests.length;
    const third = await call(`${d.url}/rpm/3`, { headers: a });
    t.equal(third.status, 429);
    t.equal(third.json().error.code, 'rate_limited');
    t.ok(Number(third.headers['retry-after']) >= 1, 'Retry-After in whole seconds');
    t.equal(backend.requests.length, before, 'the refused request was not forwarded');
    t.equal((await call(`${d.url}/rpm/4`, { headers: { 'x-api-key': 'key-b' } })).status, 200, 'another key has its own bucket');
  });

  t.test('tokens per minute, charged by max_tokens and prompt size', async (t) => {
    const h = { 'x-api-key': 'key-t', 'content-type': 'application/json' };
    t.equal((await call(`${d.url}/tpm/1`, { headers: h, body: chat('m', { max_tokens: 600 }) })).status, 200);
    const r = await call(`${d.url}/tpm/2`, { headers: h, body: chat('m', { max_tokens: 600 }) });
    t.equal(r.status, 429, 'the second 600-token request exceeds 1,000 tokens per minute');
    t.match(r.json().error.message, /tokens per minute/);
  });

  t.test('the refusals are counted', async (t) => {
    const m = await call(`${d.adminUrl}/metrics`);
    t.match(m.text, /switchyard_shed_total\{pool="p",reason="rate_limit"\} 2/);
  });
});
