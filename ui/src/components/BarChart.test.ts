// @vitest-environment happy-dom
import type { ComponentProps } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import BarChart from './BarChart.svelte';
import { mountForTest } from './mountForTest';

let mounted: ReturnType<typeof mountForTest> | undefined;
afterEach(() => mounted?.destroy());

function render(props: ComponentProps<typeof BarChart>) {
  mounted = mountForTest(BarChart, props);
  const rows = [...mounted.target.querySelectorAll<HTMLElement>('li')];
  return {
    root: mounted.target,
    rows,
    text: (i: number, part: string) => rows[i].querySelector(`.${part}`)?.textContent,
    bar: (i: number) => rows[i].querySelector<HTMLElement>('.bar')!,
  };
}

describe('BarChart', () => {
  it('draws plain bars from the left with the label, the number and the count', () => {
    const chart = render({
      label: 'Lexical signatures',
      testid: 'signature',
      digits: 1,
      items: [
        { label: 'zounds', value: 8, count: 12, tag: 'catchphrase', title: 'zounds: PMI 8.0' },
        { label: 'lanterns', value: 2, count: 3 },
      ],
    });
    expect(chart.root.querySelector('ol')?.getAttribute('aria-label')).toBe('Lexical signatures');
    expect(chart.rows.map((r) => r.dataset.testid)).toEqual(['signature', 'signature']);
    expect(chart.text(0, 'label')).toBe('zounds\u00a0catchphrase');
    expect(chart.rows[0].querySelector('em')?.textContent).toBe('catchphrase');
    expect(chart.text(0, 'num')).toBe('8.0 · ×12');
    expect(chart.rows[0].title).toBe('zounds: PMI 8.0');
    expect(chart.rows[1].hasAttribute('title')).toBe(false);
    expect(chart.bar(0).style.left).toBe('0%');
    expect(chart.bar(0).style.width).toBe('100%');
    expect(chart.bar(1).style.width).toBe('25%');
    expect(chart.root.querySelector('.zero')).toBeNull();
    expect([...chart.root.querySelectorAll('.ticks span')].map((t) => t.textContent)).toEqual(['0', '2', '4', '6', '8']);
  });

  it('diverges around a zero axis when a value is negative', () => {
    const chart = render({
      label: 'Pragmatic traits',
      testid: 'trait',
      digits: 1,
      items: [
        { label: 'question rate', value: 3, note: '0.300 vs 0.100' },
        { label: 'hedges', value: -1, note: '0.010 vs 0.040' },
      ],
    });
    expect(chart.root.querySelector<HTMLElement>('.zero')?.style.left).toBe('25%');
    expect(chart.bar(0).style.left).toBe('25%');
    expect(chart.bar(0).style.width).toBe('75%');
    expect(chart.bar(0).classList.contains('negative')).toBe(false);
    expect(chart.bar(1).style.left).toBe('0%');
    expect(chart.bar(1).style.width).toBe('25%');
    expect(chart.bar(1).classList.contains('negative')).toBe(true);
    expect(chart.text(0, 'num')).toBe('+3.0 · 0.300 vs 0.100');
    expect(chart.text(1, 'num')).toBe('−1.0 · 0.010 vs 0.040');
  });

  it('draws no axis for an empty chart', () => {
    const chart = render({ label: 'Grammar', testid: 'rule', items: [] });
    expect(chart.rows).toHaveLength(0);
    expect(chart.root.querySelector('.axis')).toBeNull();
  });
});
