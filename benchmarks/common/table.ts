// Plain-text tables that are also valid Markdown, so a run's output pastes into a README.

/** Right-aligns cells that look numeric, left-aligns the rest. */
export function formatTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => /^[-+~≤≥<>×%.,\d\s]*$|^—$/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    '| ' + cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ') + ' |';
  const rule = '|' + widths.map((w, i) => (numeric[i] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|';
  return [line(head), rule, ...rows.map((r) => line(r.map((c) => c ?? '')))].join('\n');
}

/** A number with thousands separators and a fixed count of decimals; "—" for NaN. */
export function fmt(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}
