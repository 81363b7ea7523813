// What the clients send and the backend answers: an OpenAI-style chat completion,
// small JSON either way, or a stream of `data: <chunk>\n\n` events ending with [DONE].

export const CHAT_PATH = '/v1/chat/completions';
export const JSON_HEADERS = { 'content-type': 'application/json' };

const messages = [{ role: 'user', content: 'Say hello.' }];
export const CHAT_BODY = JSON.stringify({ model: 'bench-model', messages, max_tokens: 8 });
export const STREAM_BODY = JSON.stringify({ model: 'bench-model', messages, max_tokens: 64, stream: true });
export const STREAM_MARKER = '"stream":true';

export const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created: 1700000000,
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11, prompt_tokens_details: { cached_tokens: 0 } },
  }),
);

export const TOKEN_EVENT = Buffer.from(
  'data: ' +
    JSON.stringify({
      id: 'chatcmpl-bench',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: 'bench-model',
      choices: [{ index: 0, delta: { content: ' token' }, finish_reason: null }],
    }) +
    '\n\n',
);
export const DONE_EVENT = Buffer.from('data: [DONE]\n\n');

/** Events in `chunk`, given the last byte of the previous chunk (a "\n\n" may straddle two). */
export function countEvents(chunk: Buffer, previousLastByte: number): number {
  let n = previousLastByte === 0x0a && chunk[0] === 0x0a ? 1 : 0;
  for (let i = chunk.indexOf('\n\n'); i !== -1; i = chunk.indexOf('\n\n', i + 2)) n++;
  return n;
}
