// Which datacenters a pool watches, and which one serves. Traffic stays in the first
// datacenter (in preference order) with at least `min_healthy` passing instances, moves on
// when it drops below, and returns when it recovers — the same shape as a prepared query's
// failover, but decided on a threshold rather than on "zero left".
import type { PoolConsulConfig } from '../config/schema';

/** What the selector knows of one watched datacenter. */
export interface DatacenterView {
  name: string;
  /** Passing instances in the accepted set; undefined until the datacenter has answered once. */
  healthy: number | undefined;
  /** Answered or failed at least once: no longer worth waiting for. */
  settled: boolean;
}

/**
 * The datacenter to serve from, or undefined to keep quiet for now. A less preferred
 * datacenter is not chosen while a more preferred one has not been heard from, so a start-up
 * race does not send traffic abroad for a moment. When none reaches `minHealthy`, the one
 * with the most instances serves (preference order breaks ties): some capacity beats none.
 */
export function pickDatacenter(views: readonly DatacenterView[], minHealthy: number): string | undefined {
  for (const v of views) {
    if (!v.settled) return undefined;
    if ((v.healthy ?? 0) >= minHealthy) return v.name;
  }
  let best: DatacenterView | undefined;
  for (const v of views) {
    if (v.healthy !== undefined && (best === undefined || v.healthy > best.healthy!)) best = v;
  }
  return best?.name;
}

/**
 * The datacenters to watch, most preferred first. `datacenters` is used as written;
 * `nearest: N` is the local datacenter followed by the N nearest others, taken from
 * /v1/catalog/datacenters, which Consul already sorts by median WAN round-trip time.
 * Neither set means the agent's own datacenter (`undefined`: no `dc` parameter).
 */
export async function resolveDatacenters(
  pool: Pick<PoolConsulConfig, 'datacenters' | 'nearest'>,
  localDc: string | undefined,
  listDatacenters: () => Promise<string[]>,
): Promise<(string | undefined)[]> {
  if (pool.datacenters) return [...pool.datacenters];
  if (pool.nearest === undefined) return [localDc];
  const known = await listDatacenters();
  const local = localDc ?? known[0];
  if (local === undefined) throw new Error('consul knows no datacenters');
  return [local, ...known.filter((dc) => dc !== local).slice(0, pool.nearest)];
}
