// Which models a backend has resident, from its OpenAI-style GET /v1/models answer:
// `{"object":"list","data":[{"id":…}, …]}`. vLLM lists loaded LoRA adapters there too
// (with `parent` = base model), so adapters count as models a backend can serve at once.

/** The ids listed, or undefined when the body is not a model list. */
export function readModelList(body: unknown): Set<string> | undefined {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return undefined;
  const ids = new Set<string>();
  for (const m of data) {
    const id = (m as { id?: unknown } | null)?.id;
    if (typeof id === 'string') ids.add(id);
  }
  return ids;
}
