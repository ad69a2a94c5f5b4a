import * as Y from 'yjs';

/** JSON with object keys sorted: Y.Map key order is per replica, content is not. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function stateVectorHex(doc: Y.Doc): string {
  return Buffer.from(Y.encodeStateVector(doc)).toString('hex');
}

/** The oracle for convergence: equal state vectors, equal content, nothing pending. */
export function sameState(a: Y.Doc, b: Y.Doc): boolean {
  return stateVectorHex(a) === stateVectorHex(b) && canonicalJson(a.toJSON()) === canonicalJson(b.toJSON());
}

export function hasPending(doc: Y.Doc): boolean {
  return doc.store.pendingStructs !== null || doc.store.pendingDs !== null;
}

/** Element counts of every Y.Array run (ContentAny item) of a document, in struct order. */
export function arrayRuns(doc: Y.Doc): number[] {
  const out: number[] = [];
  for (const structs of doc.store.clients.values()) {
    for (const struct of structs) if (struct instanceof Y.Item && struct.content instanceof Y.ContentAny) out.push(struct.content.arr.length);
  }
  return out;
}
