// Opens keep-alive connections, sends one small request on each, and keeps them idle:
//   node idle-conns.js URL
// The parent says 'open' with a count (as often as it likes), and gets back 'opened'
// with the totals; on 'close' it gets 'result' with how many the server dropped meanwhile.
// Requests go out BATCH at a time so the proxy needs only a few upstream connections:
// what is measured is the cost of idle client connections.
import { Client } from 'undici';
import { tell, told } from '../common/ipc';
import { CHAT_BODY, CHAT_PATH, JSON_HEADERS } from './workload';

export interface Opened {
  open: number;
  failed: number;
}

const BATCH = 50;
const origin = new URL(process.argv[2]).origin;
const clients: Client[] = [];
let failed = 0;
let dropped = 0;

async function connect(): Promise<void> {
  const client = new Client(origin, { keepAliveTimeout: 120_000, keepAliveMaxTimeout: 120_000 });
  try {
    const { statusCode, body } = await client.request({ method: 'POST', path: CHAT_PATH, headers: JSON_HEADERS, body: CHAT_BODY });
    await body.dump();
    if (statusCode !== 200) throw new Error(`status ${statusCode}`);
    client.on('disconnect', () => void dropped++);
    clients.push(client);
  } catch {
    failed++;
    await client.destroy();
  }
}

async function open(count: number): Promise<void> {
  for (let i = 0; i < count; i += BATCH) await Promise.all(Array.from({ length: Math.min(BATCH, count - i) }, connect));
  tell('opened', { open: clients.length, failed } satisfies Opened);
}

process.on('message', (m: { kind?: string; value?: unknown }) => {
  if (m.kind === 'open') void open(Number(m.value));
});
void told('close').then(async () => {
  tell('result', dropped);
  await Promise.all(clients.map((c) => c.destroy()));
  process.disconnect();
});
