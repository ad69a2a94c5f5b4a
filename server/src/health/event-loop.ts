import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopSample {
  /** 99th percentile of the event-loop delay over the last interval (ms). */
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  /** When the sample was taken (ms epoch); 0 before the first one. */
  readonly at: number;
}

const EMPTY: EventLoopSample = Object.freeze({ p99Ms: 0, maxMs: 0, meanMs: 0, at: 0 });

/**
 * Event-loop delay (`perf_hooks.monitorEventLoopDelay`), sampled and reset every `intervalMs`,
 * so the figure is "the last interval", not "since start". The interval timer is unref'd.
 */
export class EventLoopMonitor {
  readonly #histogram: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #last: EventLoopSample = EMPTY;
  readonly #onSample: (sample: EventLoopSample) => void;

  constructor(intervalMs: number, onSample: (sample: EventLoopSample) => void = () => undefined) {
    this.#onSample = onSample;
    this.#histogram = monitorEventLoopDelay({ resolution: 20 });
    this.#histogram.enable();
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  get last(): EventLoopSample {
    return this.#last;
  }

  /** The largest delay of the current interval so far (ms), without taking a sample. */
  get currentMaxMs(): number {
    return this.#histogram.count === 0 ? 0 : this.#histogram.max / 1e6;
  }

  /** Take a sample now (and reset the histogram: the first delay after a reset is not recorded). */
  sample(): EventLoopSample {
    const h = this.#histogram;
    const ns = 1e6;
    this.#last = h.count === 0 ? { ...EMPTY, at: Date.now() } : { p99Ms: h.percentile(99) / ns, maxMs: h.max / ns, meanMs: h.mean / ns, at: Date.now() };
    h.reset();
    this.#onSample(this.#last);
    return this.#last;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}

