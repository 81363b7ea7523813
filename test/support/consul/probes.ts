// One execution of an HTTP or TCP check, with Consul's result mapping (agent/checks/check.go):
// HTTP 2xx passing, 429 warning, anything else or a transport error critical; TCP connect
// success passing, failure critical. Connections are never reused, as Consul's check client
// disables keep-alive.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { CheckStatus } from './catalog';

export interface ProbeResult {
  status: CheckStatus;
  output: string;
}

const OUTPUT_MAX = 4096;

function goMethod(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
}

export function probeHttp(
  target: { url: string; method: string; header: Record<string, string[]>; body: string },
  timeoutMs: number,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const fail = (err: Error) => resolve({ status: 'critical', output: `${goMethod(target.method)} "${target.url}": ${err.message}` });
    let url: URL;
    try {
      url = new URL(target.url);
    } catch (err) {
      return fail(err as Error);
    }
    const headers: Record<string, string | string[]> = {
      'User-Agent': 'Consul Health Check',
      Accept: 'text/plain, text/*, */*',
      Connection: 'close',
      ...target.header,
    };
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: target.method, headers, agent: false, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < OUTPUT_MAX) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).subarray(0, OUTPUT_MAX).toString('utf8');
        const output = `HTTP ${target.method} ${target.url}: ${code} ${res.statusMessage ?? ''} Output: ${body}`;
        const status: CheckStatus = code >= 200 && code < 300 ? 'passing' : code === 429 ? 'warning' : 'critical';
        resolve({ status, output });
      });
      res.on('error', fail);
    });
    req.on('timeout', () => req.destroy(new Error(`context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on('error', fail);
    req.end(target.body || undefined);
  });
}

export function probeTcp(address: string, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const i = address.lastIndexOf(':');
    const host = address.slice(0, i).replace(/^\[|\]$/g, '');
    const socket = net.connect({ host, port: Number(address.slice(i + 1)), timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ status: 'passing', output: `TCP connect ${address}: Success` });
    });
    socket.once('timeout', () => socket.destroy(new Error('i/o timeout')));
    socket.once('error', (err) => resolve({ status: 'critical', output: `dial tcp ${address}: ${err.message}` }));
  });
}
