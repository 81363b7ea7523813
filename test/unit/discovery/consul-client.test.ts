// Where the agent is: config first, then Consul's own environment variables.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blockingTimeout, resolveEndpoint } from '../../../lib/discovery/consul-client';

t.test('address: config, else CONSUL_HTTP_ADDR (scheme optional), else the local agent', async (t) => {
  t.equal(resolveEndpoint({ address: 'http://consul.internal:8500' }, { CONSUL_HTTP_ADDR: 'other:1' }).baseUrl, 'http://consul.internal:8500/v1');
  t.equal(resolveEndpoint({}, { CONSUL_HTTP_ADDR: '10.0.0.9:8500' }).baseUrl, 'http://10.0.0.9:8500/v1');
  t.equal(resolveEndpoint({}, { CONSUL_HTTP_ADDR: '10.0.0.9:8501', CONSUL_HTTP_SSL: 'true' }).baseUrl, 'https://10.0.0.9:8501/v1');
  t.equal(resolveEndpoint({}, {}).baseUrl, 'http://127.0.0.1:8500/v1');
  t.equal(resolveEndpoint({ address: 'http://gw:80/consul/' }, {}).baseUrl, 'http://gw/consul/v1', 'a path prefix is kept');
  t.throws(() => resolveEndpoint({ address: 'unix:///tmp/consul.sock' }, {}), /must be http/);
});

t.test('token from CONSUL_HTTP_TOKEN; CA file only for https', async (t) => {
  t.equal(resolveEndpoint({}, { CONSUL_HTTP_TOKEN: 's3cret' }).token, 's3cret');
  t.equal(resolveEndpoint({}, { CONSUL_HTTP_TOKEN: '' }).token, undefined);
  const dir = mkdtempSync(join(tmpdir(), 'consul-ca-'));
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, 'PEM');
  t.equal(resolveEndpoint({ address: 'https://c:8501', ca_file: ca }, {}).ca?.toString(), 'PEM');
  t.equal(resolveEndpoint({ address: 'https://c:8501' }, { CONSUL_CACERT: ca }).ca?.toString(), 'PEM', 'CONSUL_CACERT as Consul tools read it');
  t.equal(resolveEndpoint({ address: 'http://c:8500', ca_file: ca }, {}).ca, undefined);
  t.throws(() => resolveEndpoint({ address: 'https://c:8501', ca_file: join(dir, 'missing.pem') }, {}), /ENOENT/);
});

t.test('the client timeout outlasts wait plus Consul’s wait/16 jitter', async (t) => {
  for (const wait of [250, 1000, 30_000, 300_000, 600_000]) t.ok(blockingTimeout(wait) > (wait * 17) / 16, `wait ${wait}ms`);
});
