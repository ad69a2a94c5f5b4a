import type * as Y from 'yjs';
import { Awareness } from 'y-protocols/awareness';

/**
 * A new Awareness for `doc`, and the function that destroys it completely: y-protocols'
 * Awareness adds a `destroy` listener to the doc that it never removes, which would keep every
 * destroyed provider's awareness alive as long as the doc lives.
 */
export function createAwareness(doc: Y.Doc): { awareness: Awareness; release: () => void } {
  const listeners = (): Set<unknown> => new Set(doc._observers.get('destroy') ?? []);
  const before = listeners();
  const awareness = new Awareness(doc);
  const added = [...listeners()].filter((l) => !before.has(l)) as (() => void)[];
  return {
    awareness,
    release: () => {
      awareness.destroy();
      for (const listener of added) doc.off('destroy', listener);
    },
  };
}
