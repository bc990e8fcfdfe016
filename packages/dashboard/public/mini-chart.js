// A small canvas line chart, used when uPlot is not installed: time on x, auto-scaled
// values on y from 0, one line per series (null breaks a line), a legend with the latest
// values. Redraws on resize.

const MARGIN = { left: 52, right: 10, top: 20, bottom: 22 };

export class MiniChart {
  /**
   * @param {HTMLElement} container
   * @param {{ series: Array<{ label: string, color: string }>, height: number, format: (v: number) => string }} options
   */
  constructor(container, options) {
    this.container = container;
    this.options = options;
    this.canvas = document.createElement('canvas');
    container.appendChild(this.canvas);
    this.xs = [];
    this.ys = options.series.map(() => []);
    this.observer = new ResizeObserver(() => this.draw());
    this.observer.observe(container);
  }

  /** @param {number[]} xs seconds since the epoch; @param {Array<Array<number|null>>} ys */
  setData(xs, ys) {
    this.xs = xs;
    this.ys = ys;
    this.draw();
  }

  destroy() {
    this.observer.disconnect();
    this.canvas.remove();
  }

  draw() {
    const { canvas, container, options } = this;
    const width = Math.max(container.clientWidth, 100);
    const height = options.height;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(document.documentElement);
    const muted = style.getPropertyValue('--muted').trim() || '#888';
    const grid = style.getPropertyValue('--border').trim() || '#333';
    ctx.font = '11px system-ui, sans-serif';

    const plotW = width - MARGIN.left - MARGIN.right;
    const plotH = height - MARGIN.top - MARGIN.bottom;
    const xs = this.xs;
    let max = 0;
    for (const series of this.ys) for (const v of series) if (v !== null && v > max) max = v;
    const top = niceCeil(max);
    const x0 = xs.length > 0 ? xs[0] : 0;
    const x1 = xs.length > 1 ? xs[xs.length - 1] : x0 + 1;
    const px = (x) => MARGIN.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
    const py = (y) => MARGIN.top + plotH - (y / top) * plotH;

    // Grid and y labels.
    ctx.strokeStyle = grid;
    ctx.fillStyle = muted;
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i += 1) {
      const value = (top * i) / 4;
      const y = Math.round(py(value)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(MARGIN.left, y);
      ctx.lineTo(width - MARGIN.right, y);
      ctx.stroke();
      ctx.fillText(options.format(value), MARGIN.left - 6, y);
    }
    // Time labels.
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    if (xs.length > 1) {
      let previous = '';
      for (let i = 0; i <= 3; i += 1) {
        const x = x0 + ((x1 - x0) * i) / 3;
        const label = new Date(x * 1000).toLocaleTimeString([], { hour12: false });
        if (label === previous) continue; // a short span: one label per second is enough
        previous = label;
        ctx.fillText(
          label,
          Math.min(Math.max(px(x), MARGIN.left + 24), width - 30),
          height - MARGIN.bottom + 6,
        );
      }
    }
    // Lines.
    this.options.series.forEach((s, index) => {
      const values = this.ys[index] ?? [];
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.75;
      ctx.beginPath();
      let drawing = false;
      for (let i = 0; i < xs.length; i += 1) {
        const v = values[i];
        if (v === null || v === undefined) {
          drawing = false;
          continue;
        }
        if (drawing) ctx.lineTo(px(xs[i]), py(v));
        else ctx.moveTo(px(xs[i]), py(v));
        drawing = true;
      }
      ctx.stroke();
      // A point without a neighbour draws no line: show it as a dot.
      ctx.fillStyle = s.color;
      for (let i = 0; i < xs.length; i += 1) {
        const v = values[i];
        const alone =
          (i === 0 || values[i - 1] == null) && (i === xs.length - 1 || values[i + 1] == null);
        if (v === null || v === undefined || !alone) continue;
        ctx.beginPath();
        ctx.arc(px(xs[i]), py(v), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    });
    // Legend with the latest values.
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    let lx = MARGIN.left;
    this.options.series.forEach((s, index) => {
      const values = this.ys[index] ?? [];
      const last = values.length > 0 ? values[values.length - 1] : null;
      const text = `${s.label} ${last === null || last === undefined ? '–' : options.format(last)}`;
      ctx.fillStyle = s.color;
      ctx.fillRect(lx, 6, 10, 3);
      ctx.fillStyle = muted;
      ctx.fillText(text, lx + 14, 8);
      lx += ctx.measureText(text).width + 28;
    });
  }
}

/** The smallest "nice" number (1, 2, 5 × 10^n) at or above `value`; 1 for 0. */
function niceCeil(value) {
  if (!(value > 0)) return 1;
  const exponent = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * exponent >= value) return step * exponent;
  return 10 * exponent;
}
