// Routes from Consul KV override the file's `routes:` so that one KV write shifts traffic
// on every Switchyard instance at once. The KV value is YAML: either a list of routes or
// a mapping with a `routes:` key. The merged document is validated like a file, so a bad
// KV write is refused the same way a bad edit is, and the running config stays.
import { parseDocument, isMap } from 'yaml';

/** The file's text with its `routes` replaced by those in `kvText`; throws on bad YAML. */
export function mergeKvRoutes(fileText: string, kvText: string): string {
  const kv = parseDocument(kvText);
  if (kv.errors.length > 0) throw new Error(`routes in Consul KV are not valid YAML: ${kv.errors[0]!.message.split('\n')[0]}`);
  const routes = isMap(kv.contents) ? kv.contents.get('routes', true) : kv.contents;
  const doc = parseDocument(fileText);
  doc.set('routes', routes ?? []);
  return doc.toString();
}
