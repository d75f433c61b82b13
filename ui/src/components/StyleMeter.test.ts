// @vitest-environment happy-dom
import { flushSync } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import { styleMeter } from '../lib/format';
import StyleMeter from './StyleMeter.svelte';
import { mountForTest } from './mountForTest';

let mounted: ReturnType<typeof mountForTest> | undefined;
afterEach(() => mounted?.destroy());

function render(style: Parameters<typeof styleMeter>[0]): HTMLElement {
  const meter = styleMeter(style);
  if (!meter) throw new Error('no meter for an unscored reply');
  mounted = mountForTest(StyleMeter, { meter });
  return mounted.target.querySelector<HTMLElement>('[data-testid=style-meter]')!;
}

describe('StyleMeter', () => {
  it('shows percent in character as text and gauge, with the dimensions in the tooltip', () => {
    const el = render({ overall: 0.724, lexical: 0.5, syntactic: 0.66, pragmatic: 0.91, oocFlags: [], guard: null });
    expect(el.dataset.overall).toBe('72');
    expect(el.querySelector<HTMLElement>('.gauge span')?.style.width).toBe('72%');
    expect(el.textContent?.trim()).toBe('72% in character');
    expect(el.title).toBe('lexical 50% · syntactic 66% · pragmatic 91%');
    expect(el.classList.contains('ooc')).toBe(false);
  });

  it('flags an out-of-character reply by colour, its first flag and every cause in the tooltip', () => {
    const el = render({
      overall: 0.31,
      lexical: 0.2,
      syntactic: null,
      pragmatic: 0.4,
      oocFlags: [
        { kind: 'assistant_speak', cause: 'says "as an AI"' },
        { kind: 'missing_trait', cause: 'never stutters' },
      ],
      guard: null,
    });
    expect(el.classList.contains('ooc')).toBe(true);
    expect(el.textContent?.trim()).toBe('31% in character\u00a0· talks like an assistant');
    expect(el.title).toBe('lexical 20% · pragmatic 40%\nout of character: says "as an AI"\nout of character: never stutters');
  });
});

describe('StyleMeter explanation', () => {
  it('asks once, on the first hover, what the reply shows and adds it to the tooltip', async () => {
    const meter = styleMeter({ overall: 0.6, lexical: 0.5, syntactic: 0.6, pragmatic: 0.7, oocFlags: [], guard: null })!;
    let asked = 0;
    const explain = async () => {
      asked += 1;
      return { signatures: ['mayhap'], rules: [], traits: [] };
    };
    mounted = mountForTest(StyleMeter, { meter, explain });
    const el = mounted.target.querySelector<HTMLElement>('[data-testid=style-meter]')!;
    expect(el.title).not.toContain('mayhap');
    el.dispatchEvent(new Event('mouseenter'));
    el.dispatchEvent(new Event('mouseenter'));
    await new Promise((r) => setTimeout(r, 0));
    flushSync();
    expect(asked).toBe(1);
    expect(el.title.split('\n')).toContain('uses: “mayhap”');
    expect(el.tabIndex).toBe(0);
  });
});
