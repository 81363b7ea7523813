// Which directory events re-read the config: the file itself, Kubernetes' `..` entries,
// unnamed events; never a neighbour such as a log file written beside it.
import t from 'tap';
import { concernsConfig } from '../../../lib/config/watch';

t.test('concernsConfig', async (t) => {
  const table: [string | Buffer | null | undefined, boolean, string][] = [
    ['config.yaml', true, 'the config file (written in place, or renamed over)'],
    [Buffer.from('config.yaml'), true, 'the name as a Buffer'],
    ['..data', true, 'the ConfigMap symlink'],
    ['..data_tmp', true, 'its replacement before the rename'],
    ['..2026_12_05_10_00_00.123456789', true, 'a ConfigMap timestamped folder'],
    [null, true, 'no name: cannot tell, re-read'],
    [undefined, true, 'no name: cannot tell, re-read'],
    ['access.log', false, 'a log written beside the config'],
    ['.config.yaml.swp', false, "an editor's temporary file (its rename names config.yaml)"],
    ['config.yaml~', false, 'a backup copy'],
    ['config.yml', false, 'another file with a similar name'],
    ['other.yaml', false, 'another YAML file'],
  ];
  for (const [name, expected, why] of table) t.equal(concernsConfig(name, 'config.yaml'), expected, why);
});
