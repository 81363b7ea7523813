// bench:proxy's and bench:instructions' --setups: prefixes of column names; an opt-in
// variant only by a prefix that names no regular column.
import t from 'tap';
import { selectSetups } from '../../../benchmarks/proxy/setups';

const names = (wanted: string[]) => selectSetups(wanted).map((s) => s.name);

t.test('selectSetups', async (t) => {
  const cases: [string[], string[]][] = [
    [[], ['direct', 'Switchyard', 'bare Node', 'HAProxy', 'NGINX']],
    [['switchyard', 'bare'], ['Switchyard', 'bare Node']],
    [['Switch', ' BARE '], ['Switchyard', 'bare Node']],
    [['switchyard ('], ['Switchyard (no access log)']],
    [['switchyard,bare,bare node ('.split(',')].flat(), ['Switchyard', 'bare Node', "bare Node (in Switchyard's process)"]],
    [['haproxy', 'nope'], ['HAProxy']],
    [['nope'], []],
  ];
  for (const [wanted, expected] of cases) t.same(names(wanted), expected, JSON.stringify(wanted));
});

t.test('the Node setups are the ones a launcher can run', async (t) => {
  t.same(
    selectSetups(['switchyard', 'switchyard (', 'bare', 'bare node (', 'haproxy', 'nginx', 'direct'])
      .filter((s) => s.launchable)
      .map((s) => s.name),
    ['Switchyard', 'Switchyard (no access log)', 'bare Node', "bare Node (in Switchyard's process)"],
  );
});
