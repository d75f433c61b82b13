import { describe, expect, it } from 'vitest';
import { ruleBars, signatureBars, traitBars } from './profileBars';

describe('signatureBars', () => {
  it('bars the PMI with the count, tags catchphrases and explains both in the tooltip', () => {
    const [word, phrase] = signatureBars([
      { term: 'zounds', n: 1, pmi: 6.123, count: 14, ratePer1k: 3.5, catchphrase: false },
      { term: 'by the tide', n: 3, pmi: 4.2, count: 5, ratePer1k: 1.25, catchphrase: true },
    ]);
    expect(word).toEqual({
      label: 'zounds',
      value: 6.123,
      count: 14,
      tag: undefined,
      title: '“zounds”: PMI 6.12 against everyday English\n14× in the script, 3.50 per 1,000 tokens',
    });
    expect(phrase.tag).toBe('catchphrase');
    expect(phrase.title).toBe(
      '“by the tide”: PMI 4.20 against everyday English\n5× in the script, 1.25 per 1,000 tokens\n' +
        'a catchphrase: a whole line the character keeps repeating',
    );
  });
});

describe('ruleBars', () => {
  it('labels a rule by its gloss, or by the rule itself when it has none', () => {
    const [glossed, bare] = ruleBars([
      { rule: 'S -> INTJ , S', gloss: 'opens with an interjection', logOdds: 1.234, z: 3.21, count: 9 },
      { rule: 'NP -> DT NN', gloss: null, logOdds: -0.5, z: -1.04, count: 2 },
    ]);
    expect(glossed).toEqual({
      label: 'opens with an interjection',
      value: 1.234,
      count: 9,
      title: 'log-odds 1.23 against the treebank · z 3.2 · 9× in the script\ntreebank rule (for experts): S -> INTJ , S',
    });
    expect(bare.label).toBe('NP -> DT NN');
    expect(bare.title).toBe('log-odds −0.50 against the treebank · z −1.0 · 2× in the script\ntreebank rule (for experts): NP -> DT NN');
  });
});

describe('traitBars', () => {
  it('orders traits by z-score and keeps the character and background rates in the row', () => {
    const bars = traitBars(
      [
        { name: 'hedge_rate', value: 0.01, background: 0.04, zOrRatio: -2.5 },
        { name: 'question_rate', value: 0.3, background: 0.1, zOrRatio: 6.25 },
        { name: 'ellipsis_rate', value: 0.05, background: 0.05, zOrRatio: 0 },
      ],
      'Mikoto',
    );
    expect(bars.map((b) => [b.label, b.value])).toEqual([
      ['question rate', 6.25],
      ['ellipsis rate', 0],
      ['hedge rate', -2.5],
    ]);
    expect(bars[0].note).toBe('0.300 vs 0.100');
    expect(bars[2].title).toBe('hedge rate: 0.010 for Mikoto, 0.040 in the background\nz −2.5');
    expect(bars[0].title).toBe('question rate: 0.300 for Mikoto, 0.100 in the background\nz +6.3');
  });
  it('labels a trait by its plain-language gloss when the profile has one', () => {
    const [bar] = traitBars([{ name: 'question_rate', value: 0.3, background: 0.1, zOrRatio: 6.25 }], 'Mikoto', {}, {
      question_rate: 'asks questions',
    });
    expect(bar.label).toBe('asks questions');
    expect(bar.title?.startsWith('asks questions: 0.300 for Mikoto')).toBe(true);
  });
});

describe('example lines', () => {
  it('are quoted at the end of each row tooltip, by term, rule and trait name', () => {
    const [sig] = signatureBars([{ term: 'zounds', n: 1, pmi: 6, count: 2, ratePer1k: 1, catchphrase: false }], {
      zounds: ['Zounds, the tide!', 'Zounds again.'],
    });
    expect(sig.title?.split('\n').slice(-2)).toEqual(['“Zounds, the tide!”', '“Zounds again.”']);
    const [rule] = ruleBars([{ rule: 'S -> INTJ , S', gloss: null, logOdds: 1, z: 1, count: 1 }], {
      'S -> INTJ , S': ['Oh, I see.'],
    });
    expect(rule.title?.endsWith('\n“Oh, I see.”')).toBe(true);
    const [trait] = traitBars([{ name: 'stutter_rate', value: 0.2, background: 0.01, zOrRatio: 5 }], 'Aki', {
      stutter_rate: ['I-I can’t.'],
    });
    expect(trait.title?.endsWith('\n“I-I can’t.”')).toBe(true);
    const [plain] = ruleBars([{ rule: 'NP -> NN', gloss: null, logOdds: 1, z: 1, count: 1 }]);
    expect(plain.title).not.toContain('“');
  });
});
