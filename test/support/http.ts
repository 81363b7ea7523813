// Small client helpers for tests: one request with undici on a fresh connection, raw
// socket exchanges, and free ports.
import { request, Agent } from 'undici';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = any>(): T;
}

const agents: Agent[] = [];
/** A dispatcher with no connection reuse surprises between tests. */
export function agent(): Agent {
  const a = new Agent({ keepAliveTimeout: 1000, connections: 256 });
  agents.push(a);
  return a;
}

export async function closeAgents(): Promise<void> {
  await Promise.all(agents.splice(0).map((a) => a.close()));
}

export async function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; dispatcher?: Agent } = {},
): Promise<Reply> {
  const r = await request(url, {
    method: (opts.method ?? (opts.body !== undefined ? 'POST' : 'GET')) as 'GET',
    headers: opts.headers,
    body: opts.body,
    dispatcher: opts.dispatcher,
  });
  const text = await r.body.text();
  return { status: r.statusCode, headers: r.headers as Reply['headers'], text, json: () => JSON.parse(text) };
}

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Send raw bytes on a new connection and collect everything until the server closes it. */
export function rawExchange(port: number, bytes: string | Buffer, opts: { timeoutMs?: number } = {}): Promise<{ response: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ response: data, closed: false });
    }, opts.timeoutMs ?? 5000);
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', (e) => {
      clearTimeout(timer);
      if (data) resolve({ response: data, closed: true });
      else reject(e);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ response: data, closed: true });
    });
    sock.write(bytes);
  });
}

export const chat = (model: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], ...extra });
