// Turning /v1/health/service entries into Endpoints.
import type { HealthEntry } from './consul-client';
import type { Endpoint } from './types';

/** Meta's `weight` (a string, as all Meta is), else Weights.Passing, else 1. */
function weightOf(service: HealthEntry['Service']): number {
  const meta = service.Meta?.weight;
  if (meta !== undefined && meta.trim() !== '') {
    const w = Number(meta);
    if (Number.isFinite(w) && w >= 0) return w;
  }
  const passing = service.Weights?.Passing;
  return typeof passing === 'number' && Number.isFinite(passing) && passing >= 0 ? passing : 1;
}

function hostForUrl(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address;
}

/**
 * The endpoints of one answer, sorted by id. Ids are `ServiceID@dc`; a ServiceID is only unique
 * per agent, so when two nodes register the same one, those get `ServiceID@node@dc`.
 * Instances without a port or address cannot be dialled and are left out.
 */
export function toEndpoints(entries: readonly HealthEntry[], fallbackDc: string | undefined): Endpoint[] {
  const dcOf = (e: HealthEntry) => e.Node.Datacenter || fallbackDc;
  const at = (dc: string | undefined) => (dc ? `@${dc}` : '');
  const seen = new Map<string, number>();
  for (const e of entries) {
    const base = `${e.Service.ID}${at(dcOf(e))}`;
    seen.set(base, (seen.get(base) ?? 0) + 1);
  }
  const out: Endpoint[] = [];
  for (const e of entries) {
    const address = e.Service.Address || e.Node.Address;
    const port = e.Service.Port;
    if (!address || !port) continue;
    const dc = dcOf(e);
    const base = `${e.Service.ID}${at(dc)}`;
    const meta: Record<string, string> = {};
    for (const [k, v] of Object.entries(e.Service.Meta ?? {})) if (typeof v === 'string') meta[k] = v;
    if (dc !== undefined) meta.datacenter = dc;
    out.push(
      Object.freeze({
        id: seen.get(base)! > 1 ? `${e.Service.ID}@${e.Node.Node}${at(dc)}` : base,
        url: `http://${hostForUrl(address)}:${port}`,
        weight: weightOf(e.Service),
        meta: Object.freeze(meta),
        datacenter: dc,
      }),
    );
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A string that is equal for two sets exactly when the pool would see no difference. */
export function fingerprint(endpoints: readonly Endpoint[]): string {
  return JSON.stringify(endpoints.map((e) => [e.id, e.url, e.weight, Object.entries(e.meta).sort()]));
}
