import * as Y from 'yjs';

/**
 * A document's content as JSON, by top-level name, for the HTTP API and version history.
 *
 * A Y.Doc decoded from bytes does not know which type each top-level name was declared with
 * (the update format does not say): until `doc.get(name, Y.Map)` is called, the entry is a
 * bare `AbstractType`. `inferTypeKinds` reads what the type holds — map entries, a run of
 * text, XML nodes, or list items — and the caller may name the kind where that is ambiguous
 * (`?type=name:map,…`). Pure: never touches a live document (callers pass a copy).
 */
export type TypeKind = 'map' | 'array' | 'text' | 'xml';

export const TYPE_KINDS: readonly TypeKind[] = ['map', 'array', 'text', 'xml'];

/** The kind of each top-level type of `doc`, `hints` first; a type with no live content is a `map` unless hinted. */
export function inferTypeKinds(doc: Y.Doc, hints: Readonly<Record<string, TypeKind>> = {}): Map<string, TypeKind> {
  const kinds = new Map<string, TypeKind>();
  for (const [name, type] of doc.share) kinds.set(name, hints[name] ?? kindOf(type));
  return kinds;
}

/** The kind a declared (or bare) type holds. */
export function kindOf(type: Y.AbstractType<Y.YEvent<any>>): TypeKind { // eslint-disable-line @typescript-eslint/no-explicit-any -- Yjs's own type of doc.share values
  if (type instanceof Y.Map) return 'map';
  if (type instanceof Y.Text) return 'text';
  if (type instanceof Y.Array) return 'array';
  if (type instanceof Y.XmlFragment) return 'xml';
  let list = false;
  for (let item = type._start; item !== null; item = item.right) {
    if (item.deleted) continue;
    const content = item.content;
    if (content instanceof Y.ContentString || content instanceof Y.ContentFormat || content instanceof Y.ContentEmbed) return 'text';
    if (content instanceof Y.ContentType && (content.type instanceof Y.XmlElement || content.type instanceof Y.XmlText || content.type instanceof Y.XmlHook)) {
      return 'xml';
    }
    // A Y.Text may embed a type too: keep looking for text content before calling it a list.
    if (!(content instanceof Y.ContentType)) return 'array';
    list = true;
  }
  if (list) return 'array';
  return 'map';
}

/** The declared top-level type of `name` with `kind` (declaring it on `doc`, which must be a copy). */
export function typed(doc: Y.Doc, name: string, kind: TypeKind): Y.Map<unknown> | Y.Array<unknown> | Y.Text | Y.XmlFragment {
  switch (kind) {
    case 'map':
      return doc.getMap(name);
    case 'array':
      return doc.getArray(name);
    case 'text':
      return doc.getText(name);
    case 'xml':
      return doc.getXmlFragment(name);
  }
}

/**
 * The content of the document that `state` encodes, as JSON: `{ [topLevelName]: value }` with
 * maps as objects, arrays as arrays, text as a string and XML as its string form. Throws
 * (from Yjs) when the kind named for a type does not match what it was already declared as.
 */
export function stateToJson(state: Uint8Array, hints: Readonly<Record<string, TypeKind>> = {}): Record<string, unknown> {
  const doc = new Y.Doc({ gc: true });
  try {
    Y.applyUpdate(doc, state);
    const out: Record<string, unknown> = {};
    for (const [name, kind] of inferTypeKinds(doc, hints)) {
      const type = typed(doc, name, kind);
      // Text and XML render as strings (their toJSON), maps as objects, arrays as arrays.
      out[name] = type.toJSON() as unknown;
    }
    return out;
  } finally {
    doc.destroy();
  }
}
