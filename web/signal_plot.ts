/// <reference lib="dom" />
/**
 * The live plot: the chosen signals as time series on one uPlot chart (a
 * canvas; uPlot is bundled with the page), the last N seconds scrolling by.
 * Drag across it or turn the wheel to zoom, shift + wheel to pan; either
 * stops the scrolling until Live is pressed. Signals of one unit share a
 * y scale; the first two units get an axis each.
 *
 * @module
 */

import uPlot from "uplot";
import type { SignalSeries } from "./signal_series.ts";

/** One plotted signal. */
export interface PlotLine {
  /** Its key in the {@linkcode SignalSeries}. */
  key: string;
  /** Legend text. */
  label: string;
  /** Physical unit, possibly empty. */
  unit: string;
}

const COLORS = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#393b79",
  "#ad494a",
  "#637939",
  "#8c6d31",
  "#843c39",
  "#7b4173",
  "#3182bd",
  "#e6550d",
  "#31a354",
  "#756bb1",
];

const scaleOf = (unit: string) => `u:${unit}`;

/**
 * A uPlot chart over a {@linkcode SignalSeries}.
 *
 * @example
 * ```ts ignore
 * const plot = new SignalPlot(document.getElementById("plot")!, series);
 * plot.setLines([{ key: "EEC1.EngineSpeed", label: "EEC1.EngineSpeed", unit: "rpm" }]);
 * requestAnimationFrame(() => plot.render());
 * ```
 */
export class SignalPlot {
  /** Seconds shown while live. */
  windowSeconds = 30;
  /**
   * Shortest time between two redraws while live, in milliseconds: 30 redraws
   * a second scroll smoothly and leave the page's other work the rest of each frame.
   * @default {33}
   */
  minRedrawMs = 33;
  #drawnAt = -Infinity;
  #container: HTMLElement;
  #series: SignalSeries;
  #chart: uPlot | undefined;
  #lines: PlotLine[] = [];
  #live = true;
  #onLiveChange: (live: boolean) => void;
  #dirty = true;

  /**
   * @param container Where the chart goes; it takes the container's size.
   * @param series The values to show.
   * @param onLiveChange Called when zooming or panning stops the scrolling, or Live resumes it.
   */
  constructor(
    container: HTMLElement,
    series: SignalSeries,
    onLiveChange: (live: boolean) => void = () => {},
  ) {
    this.#container = container;
    this.#series = series;
    this.#onLiveChange = onLiveChange;
    new ResizeObserver(() => {
      const { width, height } = this.#size();
      this.#chart?.setSize({ width, height });
    }).observe(container);
    container.addEventListener("wheel", (event) => this.#wheel(event), { passive: false });
  }

  /** Whether the chart scrolls with new values. */
  get live(): boolean {
    return this.#live;
  }

  /** The lines shown. */
  get lines(): readonly PlotLine[] {
    return this.#lines;
  }

  /** Points drawn per line at the last render (for tests and the benchmark). */
  get points(): number {
    return this.#chart?.data[0]?.length ?? 0;
  }

  /**
   * Shows these lines (in the series' order), rebuilding the chart.
   *
   * @param lines The lines.
   */
  setLines(lines: PlotLine[]): void {
    this.#lines = lines;
    this.#chart?.destroy();
    this.#chart = undefined;
    if (lines.length > 0) this.#chart = this.#create();
    this.#dirty = true;
  }

  /** Scrolls with new values again, showing the last {@linkcode windowSeconds}. */
  resume(): void {
    this.#setLive(true);
    this.#dirty = true;
  }

  /** Stops scrolling (the values are still recorded). */
  pause(): void {
    this.#setLive(false);
  }

  /**
   * Draws the newest values when live (call once per animation frame; it
   * redraws at most every {@linkcode minRedrawMs}).
   *
   * @param now `performance.now()`.
   */
  render(now: number = performance.now()): void {
    const chart = this.#chart;
    if (!chart || (!this.#live && !this.#dirty)) return;
    if (!this.#dirty && now - this.#drawnAt < this.minRedrawMs) return;
    this.#dirty = false;
    this.#drawnAt = now;
    const data = this.#series.window(this.windowSeconds);
    const end = data[0].length ? data[0][data[0].length - 1] : 0;
    chart.batch(() => {
      chart.setData(data as uPlot.AlignedData, false);
      chart.setScale("x", { min: end - this.windowSeconds, max: end });
    });
  }

  #setLive(live: boolean): void {
    if (this.#live === live) return;
    this.#live = live;
    this.#onLiveChange(live);
  }

  #size(): { width: number; height: number } {
    const rect = this.#container.getBoundingClientRect();
    // Room for the legend under the canvas.
    return { width: Math.max(200, rect.width), height: Math.max(120, rect.height - 34) };
  }

  #create(): uPlot {
    const units = [...new Set(this.#lines.map((l) => l.unit))];
    const axisColor = getComputedStyle(this.#container).color || "#888";
    const grid = { stroke: "rgba(128,128,128,0.18)", width: 1 };
    const axes: uPlot.Axis[] = [{ stroke: axisColor, grid, ticks: grid }];
    units.slice(0, 2).forEach((unit, i) => {
      axes.push({
        scale: scaleOf(unit),
        side: i === 0 ? 3 : 1,
        stroke: axisColor,
        grid: i === 0 ? grid : { show: false },
        ticks: grid,
        label: unit || undefined,
        size: 60,
      });
    });
    const scales: uPlot.Scales = { x: { time: true } };
    for (const unit of units) scales[scaleOf(unit)] = { auto: true };
    const opts: uPlot.Options = {
      ...this.#size(),
      scales,
      axes,
      series: [
        {},
        ...this.#lines.map((line, i): uPlot.Series => ({
          label: line.unit ? `${line.label} (${line.unit})` : line.label,
          scale: scaleOf(line.unit),
          stroke: COLORS[i % COLORS.length],
          width: 1.25,
          spanGaps: false,
          points: { show: false },
        })),
      ],
      cursor: { drag: { x: true, y: false, setScale: true } },
      legend: { live: true },
      hooks: {
        // A drag across the chart zooms in: the view stays put from then on.
        setSelect: [(u) => {
          if (u.select.width > 0) this.#setLive(false);
        }],
      },
    };
    return new uPlot(
      opts,
      this.#series.window(this.windowSeconds) as uPlot.AlignedData,
      this.#container,
    );
  }

  #wheel(event: WheelEvent): void {
    const chart = this.#chart;
    if (!chart) return;
    event.preventDefault();
    const { min, max } = chart.scales.x;
    if (min === undefined || max === undefined) return;
    this.#setLive(false);
    const span = max - min;
    if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      const shift = (span * (event.shiftKey ? event.deltaY : event.deltaX)) / 500;
      chart.setScale("x", { min: min + shift, max: max + shift });
      return;
    }
    const rect = chart.over.getBoundingClientRect();
    const at = chart.posToVal(event.clientX - rect.left, "x");
    const factor = event.deltaY < 0 ? 0.8 : 1.25;
    chart.setScale("x", { min: at - (at - min) * factor, max: at + (max - at) * factor });
  }
}
