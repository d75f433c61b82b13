// @vitest-environment happy-dom
// A .svelte.test.ts file, so that the props can be $state and the test can change them as the app does.
import { flushSync } from 'svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatView, MessageView } from '../lib/types';
import ChatPane from './ChatPane.svelte';
import { mountForTest } from './mountForTest';

let mounted: ReturnType<typeof mountForTest> | undefined;
afterEach(() => mounted?.destroy());

function reply(seq: number, overall: number | null): MessageView {
  return {
    id: seq + 1, chatId: 1, seq, altIndex: 0, altCount: 1, role: seq % 2 ? 'assistant' : 'user', content: `line ${seq}`,
    source: seq % 2 ? 'model' : 'user', style: { overall, lexical: null, syntactic: null, pragmatic: null, oocFlags: [], guard: null },
    modelId: null, adapterId: null, createdAt: 0, editedAt: null,
  };
}

const persona = { id: 1, slug: 'mikoto', name: 'Mikoto', tagline: 'shrine keeper', initial: 'M', lineCount: 40, hasAvatar: false };
const chat = { id: 1, personaId: 1, title: 'Chat with Mikoto', createdAt: 0, updatedAt: 0 };
const noop = () => {};

describe('ChatPane style trend', () => {
  it('appears from two scored replies and follows added and swiped replies', () => {
    const props = $state({
      view: { chat, persona, chats: [chat], messages: [reply(0, null), reply(1, 0.9)], you: { name: 'User', userPersonaId: null, choices: [] } } as ChatView,
      replyMode: 'model' as const, replier: null, streaming: null, busy: false,
      onsend: async () => true, onstop: noop, onnewchat: noop, onprofile: noop, onswitchchat: noop, onuserpersona: noop,
      onregenerate: noop, onchoose: noop, onedit: async () => true, ondelete: noop, onbranch: noop,
    });
    mounted = mountForTest(ChatPane, props);
    const trend = () => mounted!.target.querySelector<HTMLElement>('[data-testid=style-trend]');
    expect(trend()).toBeNull();

    props.view.messages = [...props.view.messages, reply(2, null), reply(3, 0.7)];
    flushSync();
    expect(trend()?.textContent).toBe('in character 80% · drift −20 pts over 2 replies');
    expect(trend()?.dataset.average).toBe('80');
    expect(trend()?.dataset.drift).toBe('-20');
    expect(trend()?.classList.contains('warning')).toBe(true);
    expect(trend()?.title).toMatch(/^Average style score of the last 2 scored replies\./);

    // Swiping shows another alternative at the same position.
    props.view.messages = props.view.messages.map((m) => (m.seq === 3 ? { ...reply(3, 0.86), altIndex: 1, altCount: 2 } : m));
    flushSync();
    expect(trend()?.dataset.drift).toBe('-4');
    expect(trend()?.classList.contains('warning')).toBe(false);
  });
});
