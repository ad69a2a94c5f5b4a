import * as Y from 'yjs';
import { inferTypeKinds, typed, type TypeKind } from './doc-json.js';

/**
 * The forward update that makes a document's content equal to an earlier state (a version),
 * for restores. Nothing is rewound: the update *adds* operations on top of the current state —
 * it deletes what the version lacks and inserts copies of what the version holds — so every
 * replica (connected clients, other nodes, offline clients that reconnect later) merges it like
 * any edit, and edits made after it (or offline meanwhile) land on top. This works with
 * garbage collection on: it needs only the version's state, never the deleted history.
 *
 * Top-level maps are restored key by key (keys whose content already equals the version are
 * left alone, so unrelated concurrent edits to them survive); arrays, text and XML are
 * replaced as a whole when they differ. Subdocuments are restored as references (same guid).
 *
 * Pure: works on copies made from `currentState` and `targetState`. Returns `null` when the
 * content already equals the version.
 */
export function restoreUpdate(currentState: Uint8Array, targetState: Uint8Array, hints: Readonly<Record<string, TypeKind>> = {}): Uint8Array | null {
  const doc = new Y.Doc({ gc: true });
  const target = new Y.Doc({ gc: true });
  try {
    Y.applyUpdate(doc, currentState);
    Y.applyUpdate(target, targetState);
    const targetKinds = inferTypeKinds(target, hints);
    const currentKinds = inferTypeKinds(doc, hints);
    const names = new Set([...currentKinds.keys(), ...targetKinds.keys()]);
    const changes: Uint8Array[] = [];
    doc.on('update', (update: Uint8Array) => changes.push(update));
    doc.transact(() => {
      for (const name of names) {
        const kind = hints[name] ?? (targetKinds.has(name) && hasContent(target, name) ? targetKinds.get(name) : currentKinds.get(name)) ?? 'map';
        const source = targetKinds.has(name) ? typed(target, name, kind) : undefined;
        replace(typed(doc, name, kind), source);
      }
    });
    if (changes.length === 0) return null;
    return changes.length === 1 ? (changes[0] ?? null) : Y.mergeUpdates(changes);
  } finally {
    doc.destroy();
    target.destroy();
  }
}

type Top = ReturnType<typeof typed>;

function hasContent(doc: Y.Doc, name: string): boolean {
  const type = doc.share.get(name);
  if (type === undefined) return false;
  for (let item = type._start; item !== null; item = item.right) if (!item.deleted) return true;
  for (const item of type._map.values()) if (!item.deleted) return true;
  return false;
}

function replace(current: Top, source: Top | undefined): void {
  if (current instanceof Y.Map) return replaceMap(current, source instanceof Y.Map ? source : undefined);
  if (current instanceof Y.Text) return replaceText(current, source instanceof Y.Text ? source : undefined);
  if (current instanceof Y.Array) return replaceList(current, source instanceof Y.Array ? source.toArray() : [], source);
  return replaceList(current, source instanceof Y.XmlFragment ? source.toArray() : [], source);
}

function replaceMap(current: Y.Map<unknown>, source: Y.Map<unknown> | undefined): void {
  const wanted = new Map<string, unknown>(source === undefined ? [] : [...source.entries()]);
  for (const key of [...current.keys()]) if (!wanted.has(key)) current.delete(key);
  for (const [key, value] of wanted) {
    if (current.has(key) && sameContent(current.get(key), value)) continue;
    current.set(key, copy(value));
  }
}

function replaceText(current: Y.Text, source: Y.Text | undefined): void {
  const delta = (source?.toDelta() ?? []) as { insert: unknown; attributes?: Record<string, unknown> }[];
  if (JSON.stringify(current.toDelta()) === JSON.stringify(delta) && !delta.some((op) => op.insert instanceof Y.AbstractType)) return;
  if (current.length > 0) current.delete(0, current.length);
  current.applyDelta(delta.map((op) => ({ ...op, insert: copy(op.insert) })));
}

function replaceList(current: Y.Array<unknown> | Y.XmlFragment, items: readonly unknown[], source: Top | undefined): void {
  if (source !== undefined && sameContent(current, source)) return;
  if (current.length > 0) current.delete(0, current.length);
  if (items.length === 0) return;
  if (current instanceof Y.Array) current.insert(0, items.map(copy));
  else current.insert(0, items.map((node) => copy(node) as Y.XmlElement | Y.XmlText));
}

/** Equal content: JSON of both sides (XML by its string form). */
function sameContent(a: unknown, b: unknown): boolean {
  return JSON.stringify(render(a)) === JSON.stringify(render(b));
}

function render(value: unknown): unknown {
  // XML types render as their markup (toJSON), text as its string: formatting is compared by replaceText's delta.
  if (value instanceof Y.AbstractType) return { [value.constructor.name]: value.toJSON() as unknown };
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('base64') };
  if (value instanceof Y.Doc) return { doc: value.guid };
  return value;
}

/** A value that can be inserted into another document: Yjs types are deep-cloned, subdocuments re-referenced. */
function copy(value: unknown): unknown {
  if (value instanceof Y.AbstractType) return value.clone();
  if (value instanceof Y.Doc) return new Y.Doc({ guid: value.guid, meta: value.meta as unknown, shouldLoad: value.shouldLoad });
  return value;
}
