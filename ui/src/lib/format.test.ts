import { describe, expect, it } from 'vitest';
import { downloadLabel, guardLabel, planLines, profileUpdateLine } from './format';
import { flagLabel, linesOf, memoryNote, adapterChoiceValue, changeLabel, describeTrend, styleTrend, parseAdapterChoice, avatarHue, chatLabel, deleteNotice, describeFile, placeMessage, regenerateKind, swipeCounter, swipeStep, jobLabel, lossPoints, styleMeter, displayName, isSendKey, phaseLabel, replierLabel, sourceLabel, splitMarkup } from './format';

describe('sourceLabel', () => {
  it('labels script and greeting replies and leaves model and user text unlabelled', () => {
    expect(sourceLabel('script', 'Tsubaki')).toBe("line from Tsubaki's script");
    expect(sourceLabel('greeting', 'Mikoto')).toBe("Mikoto's greeting from the card");
    expect(sourceLabel('model', 'Mikoto')).toBeNull();
    expect(sourceLabel('user', 'Mikoto')).toBeNull();
  });
});

describe('avatarHue', () => {
  it('is stable and spreads personas apart', () => {
    expect(avatarHue('tsubaki')).toBe(avatarHue('tsubaki'));
    const hues = new Set(['tsubaki', 'mikoto', 'ririka'].map(avatarHue));
    expect(hues.size).toBe(3);
    for (const h of hues) expect(h).toBeGreaterThanOrEqual(0), expect(h).toBeLessThan(360);
  });
});

describe('splitMarkup', () => {
  it('separates *actions* from speech', () => {
    expect(splitMarkup('*turns away* Hmph. *blushes*')).toEqual([
      { text: 'turns away', kind: 'action' },
      { text: ' Hmph. ', kind: 'speech' },
      { text: 'blushes', kind: 'action' },
    ]);
  });
  it('renders **bold**, `code` and a (stage direction) opening a line', () => {
    expect(splitMarkup('(sheathes her blade) I **said** no.\nType `/bow` (if you must).')).toEqual([
      { text: '(sheathes her blade)', kind: 'action' },
      { text: ' I ', kind: 'speech' },
      { text: 'said', kind: 'bold' },
      { text: ' no.\nType ', kind: 'speech' },
      { text: '/bow', kind: 'code' },
      { text: ' (if you must).', kind: 'speech' },
    ]);
  });
  it('keeps unmatched asterisks and markup as plain text', () => {
    expect(splitMarkup('5 * 3 = <b>15</b>')).toEqual([{ text: '5 * 3 = <b>15</b>', kind: 'speech' }]);
  });
});

describe('isSendKey', () => {
  it('sends on Enter only', () => {
    expect(isSendKey({ key: 'Enter', shiftKey: false, isComposing: false })).toBe(true);
    expect(isSendKey({ key: 'Enter', shiftKey: true, isComposing: false })).toBe(false);
    expect(isSendKey({ key: 'Enter', shiftKey: false, isComposing: true })).toBe(false);
    expect(isSendKey({ key: 'a', shiftKey: false, isComposing: false })).toBe(false);
  });
});

describe('replierLabel', () => {
  it('names the model and where it runs, or says it is loading', () => {
    expect(replierLabel(null)).toBeNull();
    expect(replierLabel({ model: null, device: null, server: null, cached: null })).toBeNull();
    expect(replierLabel({ model: 'smollm2', device: null, server: null, cached: null })).toBe('smollm2 · loading…');
    expect(replierLabel({ model: 'smollm2', device: { kind: 'cpu', threads: 2, simd: 'avx2+fma' }, server: null, cached: null })).toBe(
      'smollm2 · CPU · 2 threads (avx2+fma)',
    );
    expect(replierLabel({ model: 'qwen3', device: { kind: 'cuda', threads: 1, simd: 'none' }, server: null, cached: null })).toBe('qwen3 · CUDA');
    expect(replierLabel({ model: 'qwen3:8b', device: null, server: 'http://127.0.0.1:11434/v1', cached: null })).toBe(
      'qwen3:8b · served at 127.0.0.1:11434',
    );
  });
});

describe('import wizard labels', () => {
  it('describes the detected file', () => {
    expect(describeFile('screenplay', 'UTF-8', 12_700)).toBe('Screenplay, UTF-8 · 12.4 kB');
    expect(describeFile('srt', 'UTF-16LE', 3 * 1024 * 1024)).toBe('Srt, UTF-16LE · 3.0 MB');
  });
  it('suggests a display name for a speaker', () => {
    expect(displayName('OBI-WAN KENOBI')).toBe('Obi-Wan Kenobi');
    expect(displayName("SENSEI KIRI")).toBe('Sensei Kiri');
    expect(displayName("d'artagnan")).toBe("D'artagnan");
  });
  it('says what the import is doing', () => {
    expect(phaseLabel({ phase: 'analyzing', speaker: 'HARU', lines: 42 })).toBe(
      'Analyzing 42 lines of Haru: signatures, grammar, traits…',
    );
    expect(phaseLabel({ phase: 'storing' })).toBe('Saving the persona…');
  });
});

describe('lossPoints', () => {
  it('maps the highest loss to the top and the lowest to the bottom', () => {
    expect(lossPoints([3, 2, 1], 100, 50)).toBe('0.0,0.0 50.0,25.0 100.0,50.0');
    expect(lossPoints([], 100, 50)).toBe('');
    expect(lossPoints([2], 100, 50)).toBe('0.0,50.0');
  });
});

describe('jobLabel', () => {
  it('puts a running job in one line', () => {
    const job = {
      jobId: 1, personaId: 2, phase: 'training', done: 2, total: 3, loss: 3.6441, tokensPerSecond: 17.2,
      etaSeconds: 35.4, losses: [], state: 'running' as const, error: null,
    };
    expect(jobLabel(job)).toBe('training · step 2/3 · loss 3.644 · 17 tok/s · ETA 35 s');
    expect(jobLabel({ ...job, phase: 'dataset', done: 10, total: 300, loss: null, tokensPerSecond: null, etaSeconds: null })).toBe(
      'dataset · 10/300',
    );
  });
});

describe('styleMeter', () => {
  it('shows percent in character, the dimensions and the flags', () => {
    const m = styleMeter({
      overall: 0.724,
      lexical: 0.5,
      syntactic: null,
      pragmatic: 0.91,
      oocFlags: [{ kind: 'assistant_speak', cause: 'says "as an AI"' }],
      guard: null,
    });
    expect(m).toEqual({
      percent: 72,
      detail: 'lexical 50% · pragmatic 91%',
      flags: [{ kind: 'assistant_speak', cause: 'says "as an AI"' }],
    });
    expect(styleMeter({ overall: null, lexical: null, syntactic: null, pragmatic: null, oocFlags: null, guard: null })).toBeNull();
  });
});

describe('adapter choice', () => {
  it('round-trips through select values', () => {
    for (const choice of [{ kind: 'newest' }, { kind: 'none' }, { kind: 'adapter', id: 12 }] as const) {
      expect(parseAdapterChoice(adapterChoiceValue(choice))).toEqual(choice);
    }
    expect(adapterChoiceValue({ kind: 'adapter', id: 3 })).toBe('adapter:3');
    expect(parseAdapterChoice('adapter:x')).toEqual({ kind: 'newest' });
  });
});

describe('changeLabel', () => {
  it('says whether an entry is new, gone or moved', () => {
    expect(changeLabel(null, 3.214)).toBe('new 3.21');
    expect(changeLabel(2.1, null)).toBe('gone (was 2.10)');
    expect(changeLabel(2.1, 3.214)).toBe('2.10 → 3.21');
    expect(changeLabel(0.1234, 0.5, 3)).toBe('0.123 → 0.500');
  });
});

describe('placeMessage', () => {
  const chat = [
    { seq: 0, text: 'hello' },
    { seq: 1, text: 'hi' },
    { seq: 3, text: 'hmph' },
  ];
  it('replaces the alternative shown at the same position', () => {
    expect(placeMessage(chat, { seq: 3, text: 'baka' }).map((m) => m.text)).toEqual(['hello', 'hi', 'baka']);
  });
  it('puts a new position in order', () => {
    expect(placeMessage(chat, { seq: 4, text: 'bye' }).map((m) => m.seq)).toEqual([0, 1, 3, 4]);
    expect(placeMessage(chat, { seq: 2, text: 'x' }).map((m) => m.seq)).toEqual([0, 1, 2, 3]);
  });
});

describe('regenerateKind', () => {
  const roles = (...r: ('user' | 'assistant')[]) => r.map((role) => ({ role }));
  it('offers another alternative of the last reply to a message of the user', () => {
    expect(regenerateKind(roles('assistant', 'user', 'assistant'), 2)).toBe('alternative');
    expect(regenerateKind(roles('assistant', 'user', 'assistant'), 0)).toBeNull();
  });
  it('offers the missing reply when the user spoke last, nothing for a lone greeting', () => {
    expect(regenerateKind(roles('assistant', 'user'), 1)).toBe('reply');
    expect(regenerateKind(roles('assistant'), 0)).toBeNull();
    expect(regenerateKind(roles('assistant', 'assistant'), 1)).toBeNull();
  });
});

describe('swipes', () => {
  const at = (altIndex: number, altCount: number) => ({ seq: 2, role: 'assistant' as const, altIndex, altCount });
  it('counts from 1 and hides a lone message that cannot generate', () => {
    expect(swipeCounter(at(1, 3), false)).toBe('2/3');
    expect(swipeCounter(at(0, 1), true)).toBe('1/1');
    expect(swipeCounter(at(0, 1), false)).toBeNull();
  });
  it('browses the stored alternatives and generates past the last one of the last reply', () => {
    expect(swipeStep(at(1, 3), -1, false)).toEqual({ kind: 'choose', index: 0 });
    expect(swipeStep(at(1, 3), 1, false)).toEqual({ kind: 'choose', index: 2 });
    expect(swipeStep(at(0, 3), -1, true)).toBeNull();
    expect(swipeStep(at(2, 3), 1, true)).toEqual({ kind: 'generate' });
    expect(swipeStep(at(2, 3), 1, false)).toBeNull();
  });
});

describe('deleteNotice', () => {
  it('says what goes and what stays', () => {
    expect(deleteNotice({ altCount: 1 }, 0)).toBe('Delete this message only? Nothing comes after it.');
    expect(deleteNotice({ altCount: 1 }, 1)).toBe('Delete this message only? The message after it stays.');
    expect(deleteNotice({ altCount: 3 }, 4)).toBe('Delete this message and its 2 other alternatives? The 4 messages after it stay.');
    expect(deleteNotice({ altCount: 2 }, 2)).toBe('Delete this message and its 1 other alternative? The 2 messages after it stay.');
  });
});

describe('chatLabel', () => {
  it('tells chats of the same title apart by when they started', () => {
    const createdAt = new Date(2026, 2, 3, 14, 5).getTime();
    expect(chatLabel({ title: 'Branch of Chat with Tsubaki', createdAt })).toBe('Branch of Chat with Tsubaki · Mar 3, 14:05');
  });
});

describe('styleTrend', () => {
  const scored = (overall: number | null, role: 'user' | 'assistant' = 'assistant') => ({
    role,
    style: { overall, lexical: null, syntactic: null, pragmatic: null, oocFlags: null, guard: null },
  });
  it('averages the last scored replies and compares the newer half with the older', () => {
    const t = styleTrend([scored(0.9), scored(null, 'user'), scored(0.8), scored(null), scored(0.6), scored(0.5)]);
    expect(t?.count).toBe(4);
    expect(t?.average).toBeCloseTo(0.7, 12);
    expect(t?.drift).toBeCloseTo(0.55 - 0.85, 12);
  });
  it('counts only the last n, leaving the middle of an odd count out of both halves', () => {
    const t = styleTrend([scored(0), scored(0.2), scored(0.9), scored(0.4)], 3);
    expect(t?.count).toBe(3);
    expect(t?.average).toBeCloseTo(0.5, 12);
    expect(t?.drift).toBeCloseTo(0.2, 12);
  });
  it('needs two scored replies', () => {
    expect(styleTrend([scored(0.9), scored(0.1, 'user'), scored(null)])).toBeNull();
    expect(styleTrend([])).toBeNull();
  });
});

describe('describeTrend', () => {
  it('puts the trend in whole points and warns from a drift of −10', () => {
    expect(describeTrend({ average: 0.724, drift: -0.049, count: 10 })).toMatchObject({
      average: 72,
      drift: -5,
      text: 'in character 72% · drift −5 pts over 10 replies',
      warning: false,
    });
    expect(describeTrend({ average: 0.5, drift: -0.1, count: 4 })).toMatchObject({ drift: -10, warning: true });
    expect(describeTrend({ average: 0.8, drift: 0.031, count: 2 }).text).toBe('in character 80% · drift +3 pts over 2 replies');
  });
  it('explains itself in the tooltip', () => {
    expect(describeTrend({ average: 0.5, drift: 0, count: 6 }).title).toBe(
      "Average style score of the last 6 scored replies. Drift: the newer half's average minus the older half's, " +
        'in percent points; at −10 or below the character is slipping.',
    );
  });
});

describe('guardLabel', () => {
  it('says which attempt was kept and lists each caught cause', () => {
    const g = guardLabel({ action: 'regenerate', attempts: 2, kept: 2, caught: ['it talks like an AI assistant: "As an AI"'] });
    expect(g.text).toBe('caught out of character · written again (attempt 2 of 2 kept)');
    expect(g.detail).toBe('caught because it talks like an AI assistant: "As an AI"');
  });
  it('says when every attempt was caught and the best kept', () => {
    const g = guardLabel({ action: 'rewrite', attempts: 3, kept: 1, caught: ['a', 'b', 'c'] });
    expect(g.text).toBe('out of character in all 3 attempts · kept the best');
    expect(g.detail.split('\n')).toHaveLength(3);
  });
  it('names a rewrite as such', () => {
    expect(guardLabel({ action: 'rewrite', attempts: 2, kept: 2, caught: ['x'] }).text).toContain('rewritten in character');
  });
});

describe('downloadLabel', () => {
  it('gives megabytes and the floor percent of a known size', () => {
    expect(downloadLabel({ file: 'm.gguf', downloadedBytes: 12_500_000, totalBytes: 100_000_000 })).toBe(
      'm.gguf · 12.5 of 100.0 MB (12%)',
    );
  });
  it('gives the bytes so far when the size is unknown', () => {
    expect(downloadLabel({ file: 'm.gguf', downloadedBytes: 3_000_000, totalBytes: null })).toBe('m.gguf · 3.0 MB');
  });
});

describe('planLines', () => {
  it('names the signature terms, patterns and traits a reply shows', () => {
    expect(
      planLines({
        signatures: ['mayhap', 'thou art'],
        rules: [
          { rule: 'SQ -> VBP NP VP', gloss: 'yes/no question' },
          { rule: 'NP -> NN', gloss: null },
        ],
        traits: [
          { name: 'question_rate', gloss: 'asks questions', evidence: 'Mayhap thou art weary?' },
          { name: 'stutter_rate', gloss: '', evidence: 'W-what?' },
        ],
      }),
    ).toEqual([
      'uses: “mayhap”, “thou art”',
      'patterns: yes/no question, NP -> NN',
      'shows: asks questions (“Mayhap thou art weary?”)',
      'shows: stutter (“W-what?”)',
    ]);
  });
  it('says when a reply shows nothing of the profile, and nothing without one', () => {
    expect(planLines({ signatures: [], rules: [], traits: [] })).toEqual([
      "shows none of the character's signatures, patterns or traits",
    ]);
    expect(planLines(null)).toEqual([]);
  });
});

describe('profileUpdateLine', () => {
  it('counts the personas done while an update runs and disappears when it is over or was never needed', () => {
    expect(profileUpdateLine({ done: 2, total: 5 })).toBe('Updating style profiles 2/5');
    expect(profileUpdateLine({ done: 0, total: 1 })).toBe('Updating style profiles 0/1');
    expect(profileUpdateLine({ done: 5, total: 5 })).toBeNull();
    expect(profileUpdateLine(null)).toBeNull();
    expect(profileUpdateLine(undefined)).toBeNull();
  });
});

describe('memoryNote', () => {
  it('names the memory the fit verdicts read: the machine, a GPU, or nothing when unknown', () => {
    expect(memoryNote({ bytes: 16e9, gpu: null })).toBe(' (this machine has 16.0 GB)');
    expect(memoryNote({ bytes: 8.588e9, gpu: 'NVIDIA GeForce RTX 4060' })).toBe(' (models run on the NVIDIA GeForce RTX 4060, which has 8.6 GB)');
    expect(memoryNote({ bytes: null, gpu: 'CUDA GPU' })).toBe(' (the memory of the CUDA GPU could not be read)');
    expect(memoryNote({ bytes: null, gpu: null })).toBe('');
  });
});

describe('linesOf', () => {
  it('splits a list edited as text and drops empty parts', () => {
    expect(linesOf('Hello.\n---\n  \n---\nBack again?\nStay a while.', /\n---\n/)).toEqual(['Hello.', 'Back again?\nStay a while.']);
    expect(linesOf(' calm, sea ,, ', /,/)).toEqual(['calm', 'sea']);
    expect(linesOf('', /,/)).toEqual([]);
  });
});

describe('flagLabel', () => {
  it('names a flag in plain words, and an unknown one by its id', () => {
    expect(flagLabel('assistant_speak')).toBe('talks like an assistant');
    expect(flagLabel('some_new_flag')).toBe('some new flag');
  });
});

describe('replierLabel while a reply streams', () => {
  it('drops "loading…" once pieces arrive', () => {
    const status = { model: 'smollm2', server: null, device: null, cached: null };
    expect(replierLabel(status)).toBe('smollm2 · loading…');
    expect(replierLabel(status, true)).toBe('smollm2');
  });
});
