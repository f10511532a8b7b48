/// <reference lib="dom" />
/**
 * The statistics card's chart: bus load (filled) and frames per second
 * (line) over the last samples, drawn on a canvas.
 *
 * @module
 */

/** One statistics sample. */
export interface Sample {
  /** Frames per second. */
  fps: number;
  /** Estimated bus load, 0-1 (may exceed 1 when the bit rate is set too low). */
  load: number;
}

/**
 * Draws samples right-aligned, newest at the right edge.
 *
 * @param canvas The canvas; its CSS size is used, scaled for the device pixel ratio.
 * @param samples Oldest first.
 * @param capacity Samples across the full width.
 * @example
 * ```ts ignore
 * drawSparkline(document.querySelector("canvas")!, [{ fps: 100, load: 0.2 }], 120);
 * ```
 */
export function drawSparkline(
  canvas: HTMLCanvasElement,
  samples: readonly Sample[],
  capacity: number,
): void {
  const ratio = globalThis.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(canvas.clientWidth * ratio));
  const height = Math.max(1, Math.round(canvas.clientHeight * ratio));
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  const style = getComputedStyle(canvas);
  ctx.clearRect(0, 0, width, height);
  const step = width / Math.max(1, capacity - 1);
  const x = (i: number) => width - (samples.length - 1 - i) * step;
  // grid lines at 25, 50, 75 % load
  ctx.strokeStyle = style.getPropertyValue("--grid") || "#8884";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const f of [0.25, 0.5, 0.75]) {
    const y = Math.round(height * (1 - f)) + 0.5;
    ctx.moveTo(0, y);
    ctx.lineTo(width, y);
  }
  ctx.stroke();
  if (samples.length === 0) return;
  const top = 2 * ratio;
  const yLoad = (s: Sample) => height - Math.min(1, s.load) * (height - top);
  ctx.beginPath();
  ctx.moveTo(x(0), height);
  samples.forEach((s, i) => ctx.lineTo(x(i), yLoad(s)));
  ctx.lineTo(x(samples.length - 1), height);
  ctx.closePath();
  ctx.fillStyle = style.getPropertyValue("--load-fill") || "#4aa3ff44";
  ctx.fill();
  const peak = Math.max(1, ...samples.map((s) => s.fps));
  ctx.beginPath();
  samples.forEach((s, i) => {
    const y = height - (s.fps / peak) * (height - top);
    if (i === 0) ctx.moveTo(x(i), y);
    else ctx.lineTo(x(i), y);
  });
  ctx.strokeStyle = style.getPropertyValue("--fps-line") || "#ffb000";
  ctx.lineWidth = 1.5 * ratio;
  ctx.stroke();
}
