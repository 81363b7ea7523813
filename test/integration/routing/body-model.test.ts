// Model matching reads the JSON body's `model` within limits.inspect_body_size, then
// replays the body to the upstream byte for byte: odd whitespace, escapes and unicode,
// a body larger than the inspection window (model first), chunked uploads split anywhere.
// `rewrite_model` changes the model the upstream sees and nothing else of the request.
import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { startBackend, type TestBackend } from '../../support/backend';
import { startDaemon, type Daemon } from '../../support/daemon';
import { quietPool } from './support';

const WINDOW = 1024; // limits.inspect_body_size below
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Sent {
  status: number;
  text: string;
}

async function post(d: Daemon, body: Buffer | Iterable<Buffer> | AsyncIterable<Buffer>, headers: Record<string, string> = {}): Promise<Sent> {
  const r = await request(`${d.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.isBuffer(body) ? body : Readable.from(body),
  });
  return { status: r.statusCode, text: await r.body.text() };
}

/** A chunked upload: the pieces are written one by one, a few ms apart, so they arrive as separate reads. */
async function* paced(pieces: Buffer[]): AsyncIterable<Buffer> {
  for (let i = 0; i < pieces.length; i++) {
    if (i > 0) await delay(5);
    yield pieces[i]!;
  }
}

/** Cuts `buf` at the given byte offsets. */
function cut(buf: Buffer, offsets: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const o of [...offsets, buf.length]) {
    out.push(buf.subarray(prev, o));
    prev = o;
  }
  return out.filter((b) => b.length > 0);
}

t.test('the body reaches the upstream byte for byte, routed by its model', async (t) => {
  const llama = await startBackend();
  const unicode = await startBackend();
  const rewritten = await startBackend();
  const d = await startDaemon({
    limits: { inspect_body_size: `${WINDOW}B` },
    pools: {
      llama: quietPool([llama.url]),
      unicode: quietPool([unicode.url]),
      rewritten: quietPool([rewritten.url]),
    },
    routes: [
      { name: 'unicode', match: { model: 'mödel-ü-模型-🦙' }, pool: 'unicode' },
      { name: 'llama', match: { model: ['llama3', 'llama-3-8b'] }, pool: 'llama' },
      { name: 'alias', match: { model: 'alias' }, pool: 'rewritten', rewrite_model: 'llama-3-8b-instruct' },
    ],
  });
  t.teardown(async () => {
    await d.stop();
    await Promise.all([llama.close(), unicode.close(), rewritten.close()]);
  });

  /** Sends `body` (whole, or as `pieces`) and checks which backend got it, and that it got exactly these bytes. */
  async function roundTrip(t: Test, body: Buffer, to: TestBackend, what: string, pieces?: Buffer[]) {
    const before = to.requests.length;
    const r = await post(d, pieces ? paced(pieces) : body);
    t.equal(r.status, 200, `${what}: 200`);
    t.equal(to.requests.length, before + 1, `${what}: routed to the expected pool`);
    const got = to.requests[before]!;
    t.equal(got.body.length, body.length, `${what}: same length upstream (${body.length} bytes)`);
    t.equal(sha(got.body), sha(body), `${what}: same bytes upstream`);
    return got;
  }

  t.test('odd whitespace, escapes and number spellings are not normalised', async (t) => {
    const body = Buffer.from(
      '\r\n\t {  "model"\n :\t"llama3" ,\r\n "messages" : [ {"role":"user" , "content":"a\\tb \\"q\\" \\u0041\\/"} ] ,' +
        ' "temperature": 1.0E0, "seed": 12345678901234567890, "n": -0 , "stop":null }\n\n  ',
    );
    const got = await roundTrip(t, body, llama, 'whitespace');
    t.equal(got.headers['content-length'], String(body.length), 'content-length kept');
  });

  t.test('unicode: a model written in UTF-8 or with \\u escapes; content with astral characters', async (t) => {
    const utf8 = Buffer.from('{"model":"mödel-ü-模型-🦙","messages":[{"role":"user","content":"héllo wörld 你好 👋🏽 \u2028"}]}');
    await roundTrip(t, utf8, unicode, 'UTF-8 model name');
    const escaped = Buffer.from('{"model":"m\\u00f6del-\\u00fc-\\u6a21\\u578b-\\ud83e\\udd99","messages":[]}');
    await roundTrip(t, escaped, unicode, 'escaped model name');
    const bom = Buffer.concat([Buffer.from('{"messages":[{"content":"'), Buffer.from([0xf0, 0x9f, 0xa6, 0x99]), Buffer.from('"}],"model":"llama-3-8b"}')]);
    await roundTrip(t, bom, llama, 'model after a 4-byte character, second name of the list');
  });

  t.test('a body larger than inspect_body_size with the model first', async (t) => {
    const prompt = 'Ünïcödé prompt 🦙 '.repeat(4000); // ~80 KiB, far past the 1 KiB window
    const body = Buffer.from(JSON.stringify({ model: 'llama3', messages: [{ role: 'user', content: prompt }], max_tokens: 7 }));
    t.ok(body.length > 64 * WINDOW, `${body.length} bytes, ${Math.round(body.length / WINDOW)}× the window`);
    const got = await roundTrip(t, body, llama, 'large body');
    t.equal(got.headers['content-length'], String(body.length), 'content-length kept');
    // The window cuts a multi-byte character in half; that must not matter either.
    const cutMid = Buffer.from(`{"model":"llama3","prompt":"${'x'.repeat(WINDOW - 29)}🦙🦙🦙${'y'.repeat(5000)}"}`);
    t.not(cutMid.subarray(0, WINDOW).toString('utf8').endsWith('🦙'), true, 'the window ends inside a character');
    await roundTrip(t, cutMid, llama, 'window boundary inside a 4-byte character');
  });

  t.test('chunked uploads, split anywhere (inside the key, the value, a character)', async (t) => {
    const small = Buffer.from('{ "mo' + 'del" : "lla' + 'ma3", "messages": [{"content": "pie 🥧 crust"}] }');
    const i = small.indexOf('🥧');
    const pieces = cut(small, [4, 5, 16, 19, i + 1, i + 2]);
    t.ok(pieces.length >= 6, `${pieces.length} chunks`);
    const got = await roundTrip(t, small, llama, 'small chunked body', pieces);
    t.equal(got.headers['content-length'], String(small.length), 'a chunked body that fits the window goes upstream whole, with its length');

    const prompt = '🦙 llamas all the way down. '.repeat(3000);
    const big = Buffer.from(JSON.stringify({ model: 'llama3', stream: true, messages: [{ role: 'user', content: prompt }] }));
    const offsets = [3, 11, 500, WINDOW - 1, WINDOW, WINDOW + 3];
    for (let o = 4096; o < big.length; o += 7919) offsets.push(o);
    const bigPieces = cut(big, offsets);
    t.ok(bigPieces.length > 10, `${big.length} bytes in ${bigPieces.length} chunks, most of them sent after the route was chosen`);
    const gotBig = await roundTrip(t, big, llama, 'large chunked body', bigPieces);
    t.equal(gotBig.headers['content-length'], undefined, 'no length was invented: the upstream gets it chunked too');
    t.equal(gotBig.headers['transfer-encoding'], 'chunked');

    const uni = Buffer.from('{"model":"mödel-ü-模型-🦙","messages":[]}');
    const m = uni.indexOf('模');
    await roundTrip(t, uni, unicode, 'chunked unicode model split inside characters', cut(uni, [m + 1, m + 2, m + 4, m + 5]));
  });

  t.test('rewrite_model replaces the model and leaves the rest of the body as it was', async (t) => {
    const original = {
      model: 'alias',
      messages: [
        { role: 'system', content: 'Be brief. Ünïcödé ok: 模型 🦙' },
        { role: 'user', content: 'quote " backslash \\ newline \n tab \t' },
      ],
      temperature: 0.25,
      max_tokens: 64,
      stream: false,
      user: 'u-1',
      metadata: { model: 'inner model fields are not the model' },
    };
    const body = Buffer.from(JSON.stringify(original));
    const before = rewritten.requests.length;
    const r = await post(d, body);
    t.equal(r.status, 200);
    t.equal(rewritten.requests.length, before + 1, 'routed by the model the client sent');
    const got = rewritten.requests[before]!;
    const upstream = JSON.parse(got.body.toString('utf8')) as typeof original;
    t.equal(upstream.model, 'llama-3-8b-instruct', 'the upstream sees the rewritten model');
    t.same(upstream, { ...original, model: 'llama-3-8b-instruct' }, 'every other field is unchanged');
    t.same(Object.keys(upstream), Object.keys(original), 'keys keep their order');
    t.equal(
      got.body.toString('utf8'),
      body.toString('utf8').replace('"model":"alias"', '"model":"llama-3-8b-instruct"'),
      'the bytes differ only in the model value',
    );
    t.equal(got.headers['content-length'], String(got.body.length), 'content-length fits the new body');

    const chunkedBefore = rewritten.requests.length;
    const r2 = await post(d, body, {});
    t.equal(r2.status, 200);
    const viaChunks = await post(d, paced(cut(body, [7, 13, 40])));
    t.equal(viaChunks.status, 200, 'a chunked upload is rewritten too');
    const gotChunked = rewritten.requests[chunkedBefore + 1]!;
    t.equal(JSON.parse(gotChunked.body.toString('utf8')).model, 'llama-3-8b-instruct');
    t.equal(gotChunked.body.length, got.body.length, 'same rewritten body, whole or chunked');
  });

  t.test('rewrite_model on a body beyond inspect_body_size: the model is replaced, the rest streams through', async (t) => {
    const body = Buffer.from(`{"model":"alias", "prompt":${JSON.stringify('p🦙'.repeat(4 * WINDOW))}, "seed":12345678901234567890}`);
    const want = Buffer.from(body.toString('utf8').replace('"model":"alias"', '"model":"llama-3-8b-instruct"'));
    t.not(sha(want), sha(body), 'the expected body differs from the sent one');
    t.ok(body.length > 4 * WINDOW, `${body.length} bytes, past the ${WINDOW}-byte window`);
    for (const [how, pieces] of [['whole', undefined], ['chunked', cut(body, [5, 12, 700, 3000, 9000])]] as const) {
      const before = rewritten.requests.length;
      const r = await post(d, pieces ? paced([...pieces]) : body);
      t.equal(r.status, 200, `${how}: 200`);
      const got = rewritten.requests[before]!;
      t.equal(sha(got.body), sha(want), `${how}: the upstream got the body with only the model changed (${got.body.length} bytes)`);
      if (how === 'whole') t.equal(got.headers['content-length'], String(want.length), 'content-length adjusted to the new body');
      else t.equal(got.headers['transfer-encoding'], 'chunked', 'a chunked upload goes on chunked');
    }
  });
});
