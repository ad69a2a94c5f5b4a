/**
 * A one-line progress indicator for the offline commands. It draws on stderr only when
 * stderr is a terminal: piped or redirected output (scripts, CI, `2> log`) never sees
 * control characters, and stdout (the command's result) is never touched.
 */
export interface Progress {
  /** Count `n` more items done. */
  tick(n?: number): void;
  /** Erase the line (call before writing anything else to the terminal, and at the end). */
  done(): void;
}

const NO_PROGRESS: Progress = { tick: () => undefined, done: () => undefined };
/** Redraw at most this often: a terminal write per record would cost more than the work. */
const REDRAW_MS = 100;
const BAR_WIDTH = 24;

/** A progress line on `stream` when it is a TTY, else a no-op. `total` is optional (a counter is shown). */
export function startProgress(stream: NodeJS.WritableStream, label: string, unit: string, total?: number): Progress {
  if (!isTty(stream)) return NO_PROGRESS;
  return new TtyProgress(stream, label, unit, total);
}

export function isTty(stream: NodeJS.WritableStream): boolean {
  return 'isTTY' in stream && stream.isTTY === true;
}

class TtyProgress implements Progress {
  readonly #stream: NodeJS.WritableStream;
  readonly #label: string;
  readonly #unit: string;
  readonly #total: number | undefined;
  #count = 0;
  #drawnAt = 0;
  #drawn = false;

  constructor(stream: NodeJS.WritableStream, label: string, unit: string, total: number | undefined) {
    this.#stream = stream;
    this.#label = label;
    this.#unit = unit;
    this.#total = total;
  }

  tick(n = 1): void {
    this.#count += n;
    const now = Date.now();
    if (now - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = now;
    this.#drawn = true;
    this.#stream.write(`\r${this.#line()}\x1b[K`);
  }

  done(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }

  #line(): string {
    const total = this.#total;
    if (total === undefined || total <= 0) return `${this.#label}: ${this.#count} ${this.#unit}`;
    const ratio = Math.min(1, this.#count / total);
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
    return `${this.#label} [${bar}] ${this.#count}/${total} ${this.#unit} (${Math.floor(ratio * 100)}%)`;
  }
}
