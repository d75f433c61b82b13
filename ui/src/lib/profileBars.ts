// A style profile's lexical signatures, grammar rules and pragmatic traits as bar chart rows (tested in
// profileBars.test.ts).
import { formatValue, type BarItem } from './charts';
import type { RuleView, SignatureView, TraitView } from './types';

/** Example lines as tooltip lines, quoted. */
function quoted(examples: string[] | undefined): string {
  return (examples ?? []).map((e) => `\n“${e}”`).join('');
}

/** PMI bars: how much more the character uses a word or phrase than everyday English. */
export function signatureBars(signatures: SignatureView[], examples: Record<string, string[]> = {}): BarItem[] {
  return signatures.map((s) => ({
    label: s.term,
    value: s.pmi,
    count: s.count,
    tag: s.catchphrase ? 'catchphrase' : undefined,
    title:
      `“${s.term}”: PMI ${formatValue(s.pmi, 2)} against everyday English\n` +
      `${s.count}× in the script, ${s.ratePer1k.toFixed(2)} per 1,000 tokens` +
      (s.catchphrase ? '\na catchphrase: a whole line the character keeps repeating' : '') +
      quoted(examples[s.term]),
  }));
}

/**
 * Log-odds bars of sentence patterns, labelled by their plain-language gloss; the treebank rule is
 * left to the tooltip, for experts (profiles stored before every rule had a gloss fall back to it as
 * the label).
 */
export function ruleBars(rules: RuleView[], examples: Record<string, string[]> = {}): BarItem[] {
  return rules.map((r) => ({
    label: r.gloss ?? r.rule,
    value: r.logOdds,
    count: r.count,
    title:
      `log-odds ${formatValue(r.logOdds, 2)} against the treebank · z ${formatValue(r.z, 1)} · ${r.count}× in the script\n` +
      `treebank rule (for experts): ${r.rule}` +
      quoted(examples[r.rule]),
  }));
}

/** z-score bars of each trait against the background, strongest first, keeping both rates in view. */
export function traitBars(
  traits: TraitView[],
  personaName: string,
  examples: Record<string, string[]> = {},
  glosses: Record<string, string> = {},
): BarItem[] {
  return [...traits]
    .sort((a, b) => b.zOrRatio - a.zOrRatio)
    .map((t) => {
      // Profiles analysed before traits had glosses fall back to the id in words.
      const label = glosses[t.name] ?? t.name.replaceAll('_', ' ');
      return {
        label,
        value: t.zOrRatio,
        note: `${t.value.toFixed(3)} vs ${t.background.toFixed(3)}`,
        title:
          `${label}: ${t.value.toFixed(3)} for ${personaName}, ${t.background.toFixed(3)} in the background\nz ${formatValue(t.zOrRatio, 1, true)}` +
          quoted(examples[t.name]),
      };
    });
}
