/** A minimal typed event emitter; `on` returns the function that removes the listener. */
export class Emitter<Events extends Record<string, unknown[]>> {
  readonly #listeners = new Map<keyof Events, Set<(...args: never) => void>>();

  on<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: (...args: Events[E]) => void): void {
    const set = this.#listeners.get(event);
    set?.delete(listener);
    if (set?.size === 0) this.#listeners.delete(event);
  }

  emit<E extends keyof Events>(event: E, ...args: Events[E]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of [...set]) {
      try {
        (listener as unknown as (...a: Events[E]) => void)(...args);
      } catch (err) {
        // A throwing listener must not break the provider's state machine: rethrow it apart.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Number of listeners, for leak checks. */
  get size(): number {
    let n = 0;
    for (const set of this.#listeners.values()) n += set.size;
    return n;
  }

  clear(): void {
    this.#listeners.clear();
  }
}
