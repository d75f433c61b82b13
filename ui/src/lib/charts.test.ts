import { describe, expect, it } from 'vitest';
import { axisTicks, barExtent, barScale, formatValue, niceStep, position, rowFigure, spacedTicks } from './charts';

describe('niceStep', () => {
  it('picks 1, 2 or 5 times a power of ten', () => {
    expect(niceStep(7.3, 4)).toBe(2);
    expect(niceStep(43.2, 4)).toBe(20);
    expect(niceStep(0.3, 3)).toBe(0.1);
    expect(niceStep(0.1 + 0.2, 3)).toBe(0.1);
    expect(niceStep(1.2, 4)).toBeCloseTo(0.5, 12);
    expect(niceStep(9.5, 1)).toBe(10);
  });
});

describe('barScale', () => {
  it('runs from zero to the highest value when none is negative', () => {
    expect(barScale([7.3, 2, 4.1])).toEqual({ min: 0, max: 7.3, step: 2, diverging: false });
  });
  it('spans both signs and diverges when any value is negative', () => {
    expect(barScale([-3.2, 40, 1])).toEqual({ min: -3.2, max: 40, step: 20, diverging: true });
  });
  it('ignores values that are not finite and survives an empty or all-zero chart', () => {
    expect(barScale([2, NaN, Infinity])).toEqual({ min: 0, max: 2, step: 0.5, diverging: false });
    expect(barScale([])).toEqual({ min: 0, max: 1, step: 1, diverging: false });
    expect(barScale([0, 0])).toEqual({ min: 0, max: 1, step: 1, diverging: false });
  });
});

describe('barExtent', () => {
  it('grows plain bars from the left edge in proportion to the largest', () => {
    const scale = barScale([8, 2]);
    expect(barExtent(8, scale)).toEqual({ offset: 0, width: 100 });
    expect(barExtent(2, scale)).toEqual({ offset: 0, width: 25 });
  });
  it('puts negative bars left of the zero axis and positive ones right of it', () => {
    const scale = barScale([-1, 3]);
    expect(position(0, scale)).toBe(25);
    expect(barExtent(-1, scale)).toEqual({ offset: 0, width: 25 });
    expect(barExtent(-0.5, scale)).toEqual({ offset: 12.5, width: 12.5 });
    expect(barExtent(3, scale)).toEqual({ offset: 25, width: 75 });
  });
  it('keeps stray values inside the track and draws nothing for NaN', () => {
    const scale = barScale([-1, 3]);
    expect(barExtent(Infinity, scale)).toEqual({ offset: 25, width: 75 });
    expect(barExtent(-Infinity, scale)).toEqual({ offset: 0, width: 25 });
    expect(barExtent(NaN, scale)).toEqual({ offset: 25, width: 0 });
  });
});

describe('axisTicks', () => {
  it('labels the round steps inside the scale, zero included', () => {
    expect(axisTicks(barScale([7.3]))).toEqual([
      { at: 0, label: '0' },
      { at: (2 / 7.3) * 100, label: '2' },
      { at: (4 / 7.3) * 100, label: '4' },
      { at: (6 / 7.3) * 100, label: '6' },
    ]);
  });
  it('labels negative ticks with a minus sign and fractional steps with their digits', () => {
    const ticks = axisTicks(barScale([-0.5, 0.7]));
    expect(ticks.map((t) => t.label)).toEqual(['−0.5', '0.0', '0.5']);
    expect(ticks.map((t) => t.at)).toEqual([0, (0.5 / 1.2) * 100, (1 / 1.2) * 100]);
  });
});

describe('formatValue', () => {
  it('writes a true minus sign, and a plus only when asked', () => {
    expect(formatValue(-0.4, 2)).toBe('−0.40');
    expect(formatValue(1.256, 2)).toBe('1.26');
    expect(formatValue(1.256, 1, true)).toBe('+1.3');
    expect(formatValue(-2, 1, true)).toBe('−2.0');
  });
  it('gives no sign to a value that rounds to zero', () => {
    expect(formatValue(-0.004, 2, true)).toBe('0.00');
    expect(formatValue(0, 1, true)).toBe('0.0');
  });
});

describe('rowFigure', () => {
  it('puts the number, the count and the note beside the bar', () => {
    expect(rowFigure({ label: 'zounds', value: 4.26, count: 12 }, 1, false)).toBe('4.3 · ×12');
    expect(rowFigure({ label: 'question rate', value: 3.14, note: '0.120 vs 0.045' }, 1, true)).toBe('+3.1 · 0.120 vs 0.045');
    expect(rowFigure({ label: 'hedges', value: -0.5, count: 0 }, 2, true)).toBe('−0.50 · ×0');
  });
});

describe('spacedTicks', () => {
  const ticks = [-40, -20, 0, 20, 40, 60].map((v, i) => ({ at: i * 20, label: String(v) }));
  it('keeps every tick on a wide track and thins them on a narrow one, zero always kept', () => {
    expect(spacedTicks(ticks, 600).length).toBe(6);
    const narrow = spacedTicks(ticks, 100, 32);
    expect(narrow.map((t) => t.label)).toEqual(['-40', '0', '40']);
    for (let i = 1; i < narrow.length; i++) expect(narrow[i].at - narrow[i - 1].at).toBeGreaterThanOrEqual(32);
  });
});
