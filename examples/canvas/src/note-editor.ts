import type * as Y from 'yjs';
import type { Shape } from './board';
import type { Camera } from './camera';

/**
 * Writing in a sticky note: a <textarea> over the note, bound to the note's `Y.Text`. Each
 * input is turned into the smallest delete + insert at the place that changed, so two people
 * typing in one note both keep their words; remote changes come in with the caret kept at
 * the same place in the text (relative positions), not at the same offset.
 */
export class NoteEditor {
  readonly #input: HTMLTextAreaElement;
  readonly #origin: object;
  #text: Y.Text | undefined;
  #id: string | undefined;
  /** The text as the textarea last showed it. */
  #shown = '';
  #before = '';
  readonly #observer = (event: Y.YTextEvent, tr: Y.Transaction): void => this.#remote(event, tr);

  /**
   * `edit` runs a change in the editor's own transaction (its origin, its undo manager);
   * `closed` hears when writing ended and whether the text changed.
   */
  constructor(
    input: HTMLTextAreaElement,
    origin: object,
    private readonly edit: (fn: () => void) => void,
    private readonly closed: (changed: boolean) => void,
  ) {
    this.#input = input;
    this.#origin = origin;
    input.addEventListener('input', () => this.#local());
    input.addEventListener('blur', () => this.close());
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
      e.stopPropagation();
    });
  }

  /** The note being written in. */
  get id(): string | undefined {
    return this.#id;
  }

  open(id: string, text: Y.Text): void {
    this.close();
    this.#id = id;
    this.#text = text;
    this.#shown = text.toJSON();
    this.#before = this.#shown;
    this.#input.value = this.#shown;
    text.observe(this.#observer);
    this.#input.hidden = false;
    this.#input.focus();
    this.#input.setSelectionRange(this.#shown.length, this.#shown.length);
  }

  close(): void {
    const text = this.#text;
    if (text === undefined) return;
    text.unobserve(this.#observer);
    this.#text = undefined;
    this.#id = undefined;
    this.#input.hidden = true;
    this.closed(text.toJSON() !== this.#before);
  }

  /** Keep the text box on the note: same place, size, turn and zoom as the note on screen. */
  place(shape: Shape, camera: Camera): void {
    const z = camera.zoom;
    Object.assign(this.#input.style, {
      left: `${(shape.x - camera.x) * z}px`,
      top: `${(shape.y - camera.y) * z}px`,
      width: `${shape.w}px`,
      height: `${shape.h}px`,
      transformOrigin: '0 0',
      transform: `scale(${z}) translate(${shape.w / 2}px, ${shape.h / 2}px) rotate(${shape.r}rad) translate(${-shape.w / 2}px, ${-shape.h / 2}px)`,
    });
  }

  #local(): void {
    const text = this.#text;
    if (text === undefined) return;
    const next = this.#input.value;
    const prev = this.#shown;
    if (next === prev) return;
    let start = 0;
    while (start < prev.length && start < next.length && prev[start] === next[start]) start++;
    let endPrev = prev.length;
    let endNext = next.length;
    while (endPrev > start && endNext > start && prev[endPrev - 1] === next[endNext - 1]) {
      endPrev--;
      endNext--;
    }
    this.#shown = next;
    this.edit(() => {
      if (endPrev > start) text.delete(start, endPrev - start);
      if (endNext > start) text.insert(start, next.slice(start, endNext));
    });
  }

  #remote(event: Y.YTextEvent, tr: Y.Transaction): void {
    const text = this.#text;
    if (text === undefined || tr.origin === this.#origin) return;
    // The caret keeps its place in the text: offsets before this change, mapped through it.
    const value = text.toJSON();
    if (value === this.#input.value) {
      this.#shown = value;
      return;
    }
    const input = this.#input;
    const anchor = caretAfter(event, input.selectionStart);
    const head = caretAfter(event, input.selectionEnd);
    input.value = value;
    this.#shown = value;
    input.setSelectionRange(anchor, head);
  }
}

/** Where offset `at` (in the text before the event) is after it. */
function caretAfter(event: Y.YTextEvent, at: number): number {
  let before = 0;
  let after = 0;
  for (const op of event.delta) {
    if (op.retain !== undefined) {
      if (before + op.retain >= at) return after + (at - before);
      before += op.retain;
      after += op.retain;
    } else if (op.insert !== undefined) {
      after += typeof op.insert === 'string' ? op.insert.length : 1;
    } else if (op.delete !== undefined) {
      if (before + op.delete >= at) return after;
      before += op.delete;
    }
  }
  return after + (at - before);
}
