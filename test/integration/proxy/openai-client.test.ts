// The official OpenAI client, as a real user would run it, through the proxy to simulated
// vLLM backends: a streamed chat completion, a plain one, and model listing.
import t from 'tap';
import OpenAI from 'openai';
import { startSimFleet } from '../../../lib/sim';
import { startDaemon } from '../../support/daemon';

t.test('openai client through Switchyard', async (t) => {
  const fleet = await startSimFleet({ instances: 2, port: 0, timeScale: 0.05, models: ['llama-3-8b'] });
  const d = await startDaemon({
    pools: { p: { backends: fleet.instances.map((i) => i.url), strategy: 'least-queue' } },
    routes: [{ name: 'chat', match: { model: ['llama-3-8b'], path_prefix: '/v1/' }, pool: 'p' }],
  });
  t.teardown(async () => {
    await d.stop();
    await fleet.close();
  });
  const client = new OpenAI({ baseURL: `${d.url}/v1`, apiKey: 'test-key', maxRetries: 0 });

  t.test('streaming chat completion', async (t) => {
    const stream = await client.chat.completions.create({
      model: 'llama-3-8b',
      messages: [{ role: 'user', content: 'Say hello' }],
      stream: true,
      max_tokens: 16,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let finish: string | null = null;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    t.ok(chunks >= 16, `${chunks} chunks streamed`);
    t.ok(text.length > 0, 'content arrived');
    t.equal(finish, 'length');
    t.equal(usage?.completion_tokens, 16);
  });

  t.test('non-streaming chat completion', async (t) => {
    const r = await client.chat.completions.create({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
    t.equal(r.object, 'chat.completion');
    t.equal(r.usage?.completion_tokens, 8);
    t.type(r.choices[0]?.message.content, 'string');
  });

  t.test('models list and unknown model', async (t) => {
    const models = await client.models.list();
    t.same(models.data.map((m) => m.id), ['llama-3-8b']);
    const err = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    t.equal((err as { status?: number }).status, 404, 'an unknown model is a 404 the SDK understands');
    t.match((err as Error).message, /llama-3-8b/, 'listing the models served');
  });
});
