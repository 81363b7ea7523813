// https Consul addresses: the agent's certificate is verified against `consul.ca_file`.
// A TLS terminator (a throwaway self-signed certificate from openssl) sits in front of the
// Consul test server.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import t, { type Test } from 'tap';
import type { Endpoint } from '../../../lib/discovery/types';
import { addInstance, ids, next, startConsul, startSource } from './support';

function selfSigned(t: Test): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'consul-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ], { stdio: 'ignore' });
  return { cert, key };
}

async function tlsTerminator(t: Test, targetPort: number, files: { cert: string; key: string }): Promise<number> {
  const server = tls.createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (socket) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as net.AddressInfo).port;
}

t.test('https with the CA file delivers; without it the certificate is refused and nothing is delivered', async (t) => {
  const consul = await startConsul(t);
  addInstance(consul, 'a', 9001);
  const files = selfSigned(t);
  const port = await tlsTerminator(t, Number(new URL(consul.url).port), files);
  const address = `https://127.0.0.1:${port}`;

  const trusted = startSource(t, address, { ca_file: files.cert });
  const [set] = await next<[Endpoint[]]>(trusted.source, 'deliver');
  t.same(ids(set), ['a@dc1']);

  const untrusted = startSource(t, address);
  const [, err] = await next<[string, Error]>(untrusted.source, 'fail');
  t.match(err.message, /self[- ]signed|certificate/i);
  t.equal(untrusted.deliveries.length, 0);
});
