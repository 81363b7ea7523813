import t from 'tap';
import { formatDuration, parseDuration, parseSize } from '../../../lib/config/units';

t.test('durations', async (t) => {
  const table: [string, number | undefined][] = [
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s4ms', 3_723_004],
    ['0s', 0],
    ['0', 0],
    [' 2s ', 2000],
    ['', undefined],
    ['2', undefined],
    ['2 s', undefined],
    ['-1s', undefined],
    ['2sec', undefined],
    ['1d', undefined],
    ['s', undefined],
    ['1.5.5s', undefined],
  ];
  for (const [text, ms] of table) t.equal(parseDuration(text), ms, JSON.stringify(text));
});

t.test('sizes', async (t) => {
  const table: [string, number | undefined][] = [
    ['512', 512],
    ['512B', 512],
    ['16KiB', 16_384],
    ['16KB', 16_000],
    ['8MiB', 8 * 1024 ** 2],
    ['8 MiB', 8 * 1024 ** 2],
    ['1MB', 1_000_000],
    ['1GiB', 1024 ** 3],
    ['1GB', 1_000_000_000],
    ['1.5KiB', 1536],
    ['', undefined],
    ['-1KiB', undefined],
    ['8 megabytes', undefined],
    ['KiB', undefined],
    ['1TiB', undefined],
  ];
  for (const [text, bytes] of table) t.equal(parseSize(text), bytes, JSON.stringify(text));
});

t.test('formatDuration writes the largest whole unit and reads back the same', async (t) => {
  const table: [number, string][] = [
    [0, '0s'],
    [250, '250ms'],
    [1500, '1500ms'],
    [2000, '2s'],
    [90_000, '90s'],
    [300_000, '5m'],
    [7_200_000, '2h'],
  ];
  for (const [ms, text] of table) {
    t.equal(formatDuration(ms), text, `${ms}ms`);
    t.equal(parseDuration(text), ms, `${text} reads back`);
  }
});
