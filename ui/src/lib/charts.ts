// Geometry of horizontal bar charts (unit-tested in charts.test.ts); BarChart.svelte only lays it out.

/** One row of a bar chart. */
export interface BarItem {
  label: string;
  value: number;
  /** How often it occurs, shown as "×N" beside the number. */
  count?: number;
  /** A short highlighted tag after the label, e.g. "catchphrase". */
  tag?: string;
  /** Muted text after the number, e.g. "0.120 vs 0.045". */
  note?: string;
  /** The row's tooltip. */
  title?: string;
}

/** A value range mapped onto the bar track (0..100 %), with zero inside it. */
export interface BarScale {
  min: number;
  max: number;
  /** The distance between axis ticks: 1, 2 or 5 × 10^k. */
  step: number;
  /** Any value below zero: bars then diverge from the axis. */
  diverging: boolean;
}

/** The 1, 2 or 5 × 10^k step that cuts `span` into at most about `parts` parts. */
export function niceStep(span: number, parts: number): number {
  const raw = span / parts;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // The tolerance absorbs rounding: a span of 0.1 + 0.2 = 0.30000000000000004 in 3 parts still steps by 0.1.
  const multiple = [1, 2, 5].find((m) => m * magnitude >= raw * (1 - 1e-9)) ?? 10;
  return multiple * magnitude;
}

/**
 * The scale of a chart of `values`: from zero (or the lowest value) to the highest, so the longest bar fills its
 * side of the track. Non-finite values are left out.
 */
export function barScale(values: number[], parts = 4): BarScale {
  const finite = values.filter(Number.isFinite);
  const min = Math.min(0, ...finite);
  const max = Math.max(0, ...finite);
  if (min === max) return { min: 0, max: 1, step: 1, diverging: false };
  return { min, max, step: niceStep(max - min, parts), diverging: min < 0 };
}

/** Where `value` falls on the track, in percent from the left (clamped to the track). */
export function position(value: number, scale: BarScale): number {
  const v = Math.min(scale.max, Math.max(scale.min, value));
  return ((v - scale.min) / (scale.max - scale.min)) * 100;
}

/** A bar from the zero axis to `value`, in percent of the track: left of the axis when negative. */
export function barExtent(value: number, scale: BarScale): { offset: number; width: number } {
  const axis = position(0, scale);
  const end = Number.isNaN(value) ? axis : position(value, scale);
  return { offset: Math.min(axis, end), width: Math.abs(end - axis) };
}

/** Digits after the point that tell ticks `step` apart. */
function stepDigits(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** The axis labels: the multiples of the step inside the scale (zero among them), with their positions. */
export function axisTicks(scale: BarScale): { at: number; label: string }[] {
  const digits = stepDigits(scale.step);
  const first = Math.ceil(scale.min / scale.step - 1e-9);
  const last = Math.floor(scale.max / scale.step + 1e-9);
  return Array.from({ length: last - first + 1 }, (_, i) => {
    const value = (first + i) * scale.step;
    return { at: position(value, scale), label: formatValue(value, digits) };
  });
}

/**
 * The ticks a track `trackPx` wide can label without their labels touching: each at least `minPx` from the one
 * before, zero always among them (it takes the place of a neighbour too close to it).
 */
export function spacedTicks<T extends { at: number; label: string }>(ticks: T[], trackPx: number, minPx = 32): T[] {
  if (trackPx <= 0) return ticks;
  const gap = (minPx / trackPx) * 100;
  const kept: T[] = [];
  for (const tick of ticks) {
    const last = kept.at(-1);
    if (!last || tick.at - last.at >= gap) kept.push(tick);
    else if (tick.label === '0' && last.label !== '0') kept[kept.length - 1] = tick;
  }
  return kept;
}

/**
 * A number as a chart shows it, with a true minus sign ("−0.40"); `signed` adds "+" to positive values, for the
 * numbers of a diverging chart. A value that rounds to zero has no sign.
 */
export function formatValue(value: number, digits: number, signed = false): string {
  const magnitude = Math.abs(value).toFixed(digits);
  if (Number(magnitude) === 0 || Number.isNaN(value)) return magnitude;
  return (value < 0 ? '−' : signed ? '+' : '') + magnitude;
}

/** The text beside a bar: "+1.25 · ×12 · 0.120 vs 0.045" (signed on diverging charts). */
export function rowFigure(item: BarItem, digits: number, signed: boolean): string {
  const parts = [formatValue(item.value, digits, signed)];
  if (item.count !== undefined) parts.push(`×${item.count}`);
  if (item.note) parts.push(item.note);
  return parts.join(' · ');
}
