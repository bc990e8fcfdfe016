// The dashboard's charts, drawn by uPlot (a dependency of @tether/dashboard, served by
// the hub under vendor/). Each chart container carries data-series (the labels),
// data-points and data-last (the newest x) so tests and people can see it move.

const HEIGHT = 200;

/**
 * @param {HTMLElement} container
 * @param {{ format?: (v: number) => string }} options
 * @param {any} uPlot the uPlot constructor; undefined when it failed to load (the
 *   container then says so instead of drawing)
 */
export function createChart(container, options, uPlot) {
  const format = options.format ?? formatNumber;
  let labels = '';
  let chart;

  function build(series) {
    chart?.destroy();
    container.textContent = '';
    chart =
      uPlot !== undefined ? buildUplot(container, series, format, uPlot) : unavailable(container);
  }

  return {
    /**
     * @param {number[]} xs seconds since the epoch
     * @param {Array<{ label: string, color: string, values: Array<number|null> }>} series
     */
    update(xs, series) {
      const key = series.map((s) => `${s.label}/${s.color}`).join('|');
      if (key !== labels) {
        labels = key;
        build(series);
      }
      chart.setData(
        xs,
        series.map((s) => s.values),
      );
      container.dataset.series = series.map((s) => s.label).join(',');
      container.dataset.points = String(xs.length);
      container.dataset.last = xs.length > 0 ? String(xs[xs.length - 1]) : '';
    },
  };
}

function buildUplot(container, series, format, uPlot) {
  const style = getComputedStyle(document.documentElement);
  const muted = style.getPropertyValue('--muted').trim() || '#888';
  const grid = style.getPropertyValue('--border').trim() || '#333';
  const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } };
  const plot = new uPlot(
    {
      width: Math.max(container.clientWidth, 100),
      height: HEIGHT,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [axis, { ...axis, values: (_u, ticks) => ticks.map(format), size: 52 }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.75,
          spanGaps: false,
          value: (_u, v) => (v === null ? '–' : format(v)),
        })),
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    },
    [[], ...series.map(() => [])],
    container,
  );
  const observer = new ResizeObserver(() =>
    plot.setSize({ width: Math.max(container.clientWidth, 100), height: HEIGHT }),
  );
  observer.observe(container);
  return {
    setData(xs, ys) {
      plot.setData([xs, ...ys]);
    },
    destroy() {
      observer.disconnect();
      plot.destroy();
    },
  };
}

/** What a chart shows when uPlot did not load: a line saying so, and nothing to draw. */
function unavailable(container) {
  container.textContent = 'chart unavailable: uPlot did not load (see the browser console)';
  return { setData() {}, destroy() {} };
}

/** 1234 -> "1234", 12345 -> "12.3k", 0.5 -> "0.5". */
export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${+(value / 1e6).toFixed(1)}M`;
  if (abs >= 1e4) return `${+(value / 1e3).toFixed(1)}k`;
  if (abs >= 100 || Number.isInteger(value)) return String(Math.round(value));
  return String(+value.toFixed(2));
}
