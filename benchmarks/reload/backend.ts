// The fast backends of the reload benchmark, in their own process (so that they do not
// share a core with the load generator):   node backend.js COUNT
// Each answers POST with a small JSON completion and GET /health with 200, at once. The
// ports are sent to the parent over IPC: { type: 'ready', ports: [...] }; to
// { type: 'connections' } it answers with how many connections it has accepted so far.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const count = Number(process.argv[2] ?? 2);
const COMPLETION = Buffer.from(
  JSON.stringify({
    id: 'cmpl-bench',
    object: 'chat.completion',
    model: 'bench-model',
    choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
  }),
);

let accepted = 0;

function start(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 0 }).end();
      return;
    }
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': COMPLETION.length }).end(COMPLETION));
  });
  server.keepAliveTimeout = 65_000;
  server.on('connection', () => accepted++);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

void Promise.all(Array.from({ length: count }, start)).then((servers) => {
  process.send!({ type: 'ready', ports: servers.map((s) => (s.address() as AddressInfo).port) });
});
process.on('message', (m: { type: string }) => {
  if (m.type === 'connections') process.send!({ type: 'connections', accepted });
});
process.on('disconnect', () => process.exit(0));
