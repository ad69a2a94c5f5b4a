import { h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const POINTS = 60;

/** A small live line chart: the last 60 samples, scaled to their maximum. */
export class Sparkline {
  readonly el: HTMLElement;
  readonly #path: SVGPathElement;
  readonly #value: HTMLElement;
  readonly #samples: number[] = [];

  constructor(readonly id: string, title: string, private readonly format: (v: number) => string) {
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', `0 0 ${POINTS - 1} 40`);
    svg.setAttribute('preserveAspectRatio', 'none');
    this.#path = document.createElementNS(SVG, 'path');
    svg.appendChild(this.#path);
    this.#value = h('span', { class: 'chart-value' }, '—');
    this.el = h('figure', { class: 'chart', 'data-chart': id }, h('figcaption', {}, h('span', {}, title), this.#value));
    this.el.appendChild(svg);
  }

  /** Add a sample (NaN: no data for this interval, drawn as 0 and shown as —). */
  push(value: number): void {
    this.#samples.push(Number.isFinite(value) ? value : 0);
    if (this.#samples.length > POINTS) this.#samples.shift();
    this.#value.textContent = Number.isFinite(value) ? this.format(value) : '—';
    const max = Math.max(...this.#samples) || 1;
    const offset = POINTS - this.#samples.length;
    this.#path.setAttribute('d', this.#samples.map((v, i) => `${i === 0 ? 'M' : 'L'}${offset + i},${(40 - (v / max) * 36 - 2).toFixed(2)}`).join(''));
  }
}
