/** Something that emits the browser's `online` event (`window`, `self`, or a test double). */
export interface NetworkEvents {
  addEventListener(type: 'online', listener: () => void): void;
  removeEventListener(type: 'online', listener: () => void): void;
}

interface Channel {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}

/**
 * Tells other tabs sharing a local store that a document's entries changed, so they adopt
 * them at once (offline edits of one tab show in the others; any tab may send any pending
 * entry). A no-op where `BroadcastChannel` is missing or no channel name is given.
 */
export class CrossTab {
  readonly #channel: Channel | undefined;
  readonly #doc: string;

  constructor(channelName: string | undefined, doc: string, onChange: () => void) {
    this.#doc = doc;
    const Ctor = (globalThis as { BroadcastChannel?: new (name: string) => Channel }).BroadcastChannel;
    if (channelName === undefined || typeof Ctor !== 'function') return;
    this.#channel = new Ctor(channelName);
    this.#channel.onmessage = (event) => {
      if (event.data === doc) onChange();
    };
  }

  notify(): void {
    try {
      this.#channel?.postMessage(this.#doc);
    } catch {
      // A closed channel: nothing to tell.
    }
  }

  close(): void {
    if (this.#channel === undefined) return;
    this.#channel.onmessage = null;
    this.#channel.close();
  }
}
