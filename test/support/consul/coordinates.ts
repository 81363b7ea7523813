// WAN network coordinates (website/content/docs/architecture/coordinates.mdx) and the
// datacenter ranking Consul derives from them for /catalog/datacenters and prepared-query
// NearestN: the median RTT from the local servers to each datacenter's servers.

export interface Coord {
  Adjustment: number;
  Error: number;
  Height: number;
  Vec: number[];
}

export interface DatacenterCoordinates {
  Datacenter: string;
  AreaID: string;
  Coordinates: Array<{ Node: string; Coord: Coord }>;
}

/** Estimated RTT in seconds between two coordinates. */
export function rttSeconds(a: Coord, b: Coord): number {
  let sum = 0;
  for (let i = 0; i < a.Vec.length; i++) sum += (a.Vec[i] - (b.Vec[i] ?? 0)) ** 2;
  const d = Math.sqrt(sum) + a.Height + b.Height;
  const adjusted = d + a.Adjustment + b.Adjustment;
  return adjusted > 0 ? adjusted : d;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Median RTT (seconds) from every local server to every server of `dc`; Infinity without data. */
export function medianRtt(all: readonly DatacenterCoordinates[], local: string, dc: string): number {
  const from = all.find((d) => d.Datacenter === local)?.Coordinates ?? [];
  const to = all.find((d) => d.Datacenter === dc)?.Coordinates ?? [];
  const rtts = from.flatMap((a) => to.map((b) => rttSeconds(a.Coord, b.Coord)));
  return rtts.length ? median(rtts) : Infinity;
}

/** Datacenters by ascending median RTT, the local one first. Ties keep the configured order. */
export function rankDatacenters(all: readonly DatacenterCoordinates[], local: string, names: readonly string[]): string[] {
  const others = names.filter((n) => n !== local).map((n, i) => ({ n, i, rtt: medianRtt(all, local, n) }));
  others.sort((a, b) => a.rtt - b.rtt || a.i - b.i);
  return [local, ...others.map((o) => o.n)];
}

/** One server per datacenter, 10 ms apart along one axis in the configured order. */
export function synthesizeCoordinates(names: readonly string[]): DatacenterCoordinates[] {
  return names.map((dc, i) => ({
    Datacenter: dc,
    AreaID: 'WAN',
    Coordinates: [
      {
        Node: `consul-server-1.${dc}`,
        Coord: { Adjustment: 0, Error: 0.2, Height: 0.0001, Vec: [0.01 * i, 0, 0, 0, 0, 0, 0, 0] },
      },
    ],
  }));
}
