// Which events in the config file's directory may concern the config. The directory is
// watched, not the file: editors save by renaming a temporary file over the config (a file
// watch would follow the old inode), and Kubernetes updates a mounted ConfigMap by
// re-pointing the `..data` symlink beside `config.yaml -> ..data/config.yaml`.
//
// Everything else in the directory is ignored: an access log or any busy file kept next to
// the config would otherwise re-read and re-validate it on every write (the proxy
// benchmark's log beside its config once cost a YAML parse every few milliseconds).

/**
 * True for an event naming the config file, a Kubernetes `..`-prefixed entry (`..data`,
 * `..data_tmp`, `..2026_12_05_…`), or no name at all (some platforms omit it).
 */
export function concernsConfig(eventName: string | Buffer | null | undefined, configFile: string): boolean {
  if (eventName === null || eventName === undefined) return true;
  const name = typeof eventName === 'string' ? eventName : eventName.toString();
  return name === configFile || name.startsWith('..');
}
