// The real app under Xvfb: personas listed from SQLite, a chat sent and answered from the script, the
// chat still there after a restart; replies streamed from the real SmolLM2 weights, one stopped early,
// with cold start, Enter-to-first-token and frame times measured in the window;
// chat controls (swipes, regenerate, edit, branch, delete); an out-of-character reply caught by the guard;
// settings (theme, a character's sampler and guard, a model downloaded from a loopback hub); a chat
// answered by a served model (`kotodama serve` on loopback, chosen in Settings);
// scripts imported through the wizard onto their profile page, a card exported; and a foreign data file
// refused and left untouched. Run by `make test` (make e2e).
import { execFileSync, spawn } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ENTER, startDriver, waitFor } from './webdriver.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const application = process.env.KOTODAMA_APP ?? path.join(root, 'target/debug/kotodama-app');
const cli = process.env.KOTODAMA_CLI ?? path.join(root, 'target/debug/kotodama');
const smollm2 = process.env.KOTODAMA_SMOLLM2_GGUF;
const screenshots = path.join(root, 'docs/screenshots');
let port = 4444 + (process.pid % 500);

/** Measurements of the e2e run (cold start, Enter to first token, frame times), printed and saved. */
const measured = {};
function measure(name, value) {
  measured[name] = value;
  console.log(`measured ${name}: ${JSON.stringify(value)}`);
  fs.mkdirSync(path.join(root, 'target'), { recursive: true });
  fs.writeFileSync(path.join(root, 'target/e2e-measurements.json'), JSON.stringify(measured, null, 2));
}

async function withApp(home, body, env = {}) {
  const driver = await startDriver({ port: port++, env: { KOTODAMA_HOME: home, ...env } });
  try {
    const session = await driver.session(application);
    try {
      await body(session);
    } finally {
      await session.close().catch(() => {});
    }
  } finally {
    driver.stop();
  }
}

/** The shown messages: role, source and the bubble's text (not its labels or actions). */
async function messages(s) {
  const all = await s.all('[data-testid=message]');
  return Promise.all(
    all.map(async (m) => {
      const [bubble] = await m.all('[data-testid=message-text]');
      return { role: await m.attr('data-role'), source: await m.attr('data-source'), text: bubble ? await bubble.text() : '' };
    }),
  );
}

test('personas from SQLite, a chat answered from the script, kept after a restart', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-'));
  const said = 'Could you teach me how to hold a sword properly?';
  await withApp(home, async (s) => {
    const personas = await waitFor('three bundled personas', async () => {
      const found = await s.all('[data-testid=persona]');
      return found.length >= 3 && found;
    });
    const slugs = await Promise.all(personas.map((p) => p.attr('data-slug')));
    assert.deepEqual([...slugs].sort(), ['mikoto', 'ririka', 'tsubaki']);
    await personas[slugs.indexOf('tsubaki')].click();
    assert.match(await (await s.one('[data-testid=chat-title]')).text(), /Tsubaki/);
    const opening = await waitFor('the greeting', async () => (await messages(s)).length === 1 && messages(s));
    assert.equal(opening[0].source, 'greeting');
    assert.ok((await (await s.one('[data-testid=reply-mode-notice]')).text()).includes('script'));

    await (await s.one('[data-testid=composer]')).type(said);
    await (await s.one('[data-testid=send]')).click();
    const after = await waitFor('the reply', async () => {
      const m = await messages(s);
      return m.length === 3 && m;
    });
    assert.deepEqual(after[1], { role: 'user', source: 'user', text: said });
    assert.equal(after[2].role, 'assistant');
    assert.equal(after[2].source, 'script');
    assert.ok(after[2].text.length > 3, 'the reply has text');
    assert.equal(await (await s.one('[data-testid=composer]')).attr('value') ?? '', '', 'the composer is cleared');
  });

  await withApp(home, async (s) => {
    const tsubaki = await s.one('[data-testid=persona][data-slug=tsubaki]');
    await tsubaki.click();
    const reloaded = await waitFor('the saved chat', async () => {
      const m = await messages(s);
      return m.length === 3 && m;
    });
    assert.equal(reloaded[1].text, said);
  });
});

async function send(s, text) {
  await (await s.one('[data-testid=composer]')).type(text);
  await (await s.one('[data-testid=send]')).click();
}

/** The reply being written, once `minPieces` pieces with some text have streamed in. */
async function streamingReply(s, minPieces) {
  return waitFor(`a reply streaming (${minPieces}+ pieces)`, async () => {
    const [bubble] = await s.all('[data-testid=streaming-message]');
    if (!bubble) return false;
    const pieces = Number(await bubble.attr('data-pieces'));
    const text = (await bubble.text()).trim();
    return pieces >= minPieces && text.length > 0 && { pieces, text };
  }, 60000);
}

/**
 * Starts recording in the window: every animation frame's duration (requestAnimationFrame deltas, the
 * Performance API's clock), when Enter was pressed and when the first streamed piece showed.
 */
async function startWindowProbe(s) {
  await s.execute(`
    const p = (window.__probe = { frames: [], enterAt: null, firstPieceAt: null, stop: false });
    let last = performance.now();
    const tick = (t) => { p.frames.push(t - last); last = t; if (!p.stop) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
    document.addEventListener('keydown', (e) => { if (e.key === 'Enter' && p.enterAt === null) p.enterAt = performance.now(); }, true);
    new MutationObserver(() => {
      const b = document.querySelector('[data-testid=streaming-message]');
      if (p.firstPieceAt === null && b && Number(b.dataset.pieces) > 0) p.firstPieceAt = performance.now();
    }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  `);
}

/** Stops the probe: Enter to first piece (ms) and the frame durations while it ran. */
async function readWindowProbe(s) {
  const p = await s.execute('window.__probe.stop = true; return window.__probe;');
  const frames = p.frames.slice(1).sort((a, b) => a - b);
  const at = (q) => Math.round(frames[Math.min(frames.length - 1, Math.floor(q * frames.length))]);
  return {
    enterToFirstTokenMs: Math.round(p.firstPieceAt - p.enterAt),
    frames: frames.length,
    frameP50Ms: at(0.5),
    frameP99Ms: at(0.99),
    frameMaxMs: Math.round(frames.at(-1)),
    framesOver100Ms: frames.filter((f) => f > 100).length,
  };
}

test('replies stream from the local model into the window, and Stop ends one early', { skip: !smollm2 && 'KOTODAMA_SMOLLM2_GGUF is not set (make models)' }, async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-model-'));
  const run = (args) => execFileSync(cli, args, { env: { ...process.env, KOTODAMA_HOME: home } });
  run(['models', 'add', smollm2, '--id', 'smollm2-135m-instruct']);
  // One attempt per reply, so that what streams is what is stored (the guard has its own test).
  run(['chats', 'settings', 'mikoto', '--guard', 'off']);
  const launched = Date.now();
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=persona][data-slug=mikoto]')).click();
    measure('coldStartToInteractiveMs', Date.now() - launched);
    await waitFor('the greeting', async () => (await messages(s)).length === 1);
    assert.equal((await s.all('[data-testid=reply-mode-notice]')).length, 0, 'no script-mode notice with a model');

    // The model loads at start and the opened chat is prefilled while the user reads and types: wait
    // for both, as a user would, so that Enter to first token times the new message alone.
    const chatId = Number(await (await s.one('[data-testid=chat]')).attr('data-chat-id'));
    const prefilled = await waitFor('the chat prefilled', async () => {
      const status = await s.execute('return window.__TAURI_INTERNALS__.invoke("app_status")');
      return status.replier?.cached?.chatId === chatId && status.replier.cached;
    }, 120000);
    measure('prefilledTokens', prefilled.tokens);
    await startWindowProbe(s);
    await (await s.one('[data-testid=composer]')).type(`Good evening! What do you guard here?${ENTER}`);
    const partial = await streamingReply(s, 3);
    const after = await waitFor('the stored reply', async () => {
      const m = await messages(s);
      return m.length === 3 && (await s.all('[data-testid=streaming-message]')).length === 0 && m;
    }, 120000);
    const window = await readWindowProbe(s);
    measure('streamingWindow', window);
    assert.ok(window.enterToFirstTokenMs > 0, `Enter then a first piece: ${window.enterToFirstTokenMs} ms`);
    assert.ok(window.frames > 10, 'frames were drawn while the reply streamed');
    assert.equal(after[2].role, 'assistant');
    assert.equal(after[2].source, 'model', 'written by the model, not picked from the script');
    assert.ok(after[2].text.startsWith(partial.text), `the stored reply continues what streamed: ${JSON.stringify([partial.text, after[2].text])}`);
    assert.ok(after[2].text.length > partial.text.length);
    assert.match(await (await s.one('[data-testid=model-status]')).text(), /smollm2-135m-instruct · CPU · \d+ threads?/);
    const meter = await s.one('[data-testid=message][data-source=model] [data-testid=style-meter]');
    const overall = Number(await meter.attr('data-overall'));
    assert.ok(overall >= 0 && overall <= 100, `style meter: ${overall}`);
    assert.match(await meter.text(), /\d+% in character/);
    fs.mkdirSync(screenshots, { recursive: true });
    fs.writeFileSync(path.join(screenshots, 'chat.png'), await s.screenshotPng());

    await send(s, 'Tell me a long story about the shrine, from the very beginning.');
    await streamingReply(s, 2);
    await (await s.one('[data-testid=stop]')).click();
    const stopped = await waitFor('the stopped reply stored', async () => {
      const m = await messages(s);
      return m.length === 5 && (await s.all('[data-testid=send]')).length === 1 && m;
    }, 30000);
    assert.equal(stopped[4].source, 'model');
    assert.ok(stopped[4].text.length > 0, 'what was written before Stop is kept');
  });
});

/** The `i`-th shown message (negative counts from the end) once `count` are shown, with its swipe counter. */
async function messageAt(s, count, i) {
  return waitFor(`message ${i} of ${count}`, async () => {
    const all = await s.all('[data-testid=message]');
    if (all.length !== count) return false;
    const m = all.at(i);
    const [counter] = await m.all('[data-testid=swipe-counter]');
    const [bubble] = await m.all('[data-testid=message-text]');
    return { el: m, counter: counter ? await counter.text() : null, text: bubble ? await bubble.text() : '' };
  });
}

/** Clicks the control `testid` of the `i`-th message of `count`. */
async function press(s, count, i, testid) {
  const { el } = await messageAt(s, count, i);
  const [control] = await el.all(`[data-testid=${testid}]`);
  assert.ok(control, `message ${i} has ${testid}`);
  await control.click();
}

/** Waits until the `i`-th message of `count` shows swipe `counter`; returns its text. */
async function swipedTo(s, count, i, counter) {
  return waitFor(`swipe ${counter} on message ${i}`, async () => {
    const m = await messageAt(s, count, i);
    return m.counter === counter && (await s.all('[data-testid=streaming-message]')).length === 0 && m.text;
  }, 60000);
}

test('chat controls: greeting and reply swipes, regenerate, an edit, a branch and a delete', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-controls-'));
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=persona][data-slug=tsubaki]')).click();
    // The card's alternate greetings are swipes of the greeting.
    const greeting = await swipedTo(s, 1, 0, '1/3');
    await press(s, 1, 0, 'swipe-next');
    const alternate = await swipedTo(s, 1, 0, '2/3');
    assert.notEqual(alternate, greeting);
    await press(s, 1, 0, 'swipe-prev');
    assert.equal(await swipedTo(s, 1, 0, '1/3'), greeting);

    await send(s, 'Could you teach me how to hold a sword properly?');
    const first = await swipedTo(s, 3, 2, '1/1');
    await press(s, 3, 2, 'action-regenerate');
    const second = await swipedTo(s, 3, 2, '2/2');
    assert.notEqual(second, first, 'another reply');
    await press(s, 3, 2, 'swipe-prev');
    assert.equal(await swipedTo(s, 3, 2, '1/2'), first);
    await press(s, 3, 2, 'swipe-next');
    assert.equal(await swipedTo(s, 3, 2, '2/2'), second);
    // Right of the last alternative of the last reply writes a new one.
    await press(s, 3, 2, 'swipe-next');
    const third = await swipedTo(s, 3, 2, '3/3');
    assert.ok(![first, second].includes(third), 'a third reply');

    // Edit the user's message in place: Enter saves, later messages stay.
    await press(s, 3, 1, 'action-edit');
    const editor = await s.one('[data-testid=edit-text]');
    await editor.clear();
    await editor.type(`Teach me to cook rice instead.${ENTER}`);
    const edited = await waitFor('the edited message', async () => {
      const m = await messages(s);
      return m.length === 3 && m[1].text === 'Teach me to cook rice instead.' && m;
    });
    assert.equal(edited[2].text, third);
    assert.equal((await s.all('[data-testid=message] [data-testid=edited]')).length, 1);

    // Branch from the edited message: a new chat up to it, listed beside the original.
    await press(s, 3, 1, 'action-branch');
    const branch = await waitFor('the branch', async () => {
      const m = await messages(s);
      return m.length === 2 && (await s.all('[data-testid=chat-option]')).length === 2 && m;
    });
    assert.deepEqual(branch.map((m) => m.text), [greeting, 'Teach me to cook rice instead.']);
    const chosen = await s.execute('return document.querySelector("[data-testid=chat-select]").selectedOptions[0].textContent');
    assert.match(chosen, /^Branch of Chat with Tsubaki Kagari · /);

    // Delete the branch's last message: it says what happens, then only that one goes.
    await press(s, 2, 1, 'action-delete');
    assert.equal(await (await s.one('[data-testid=delete-confirm] span')).text(), 'Delete this message only? Nothing comes after it.');
    await (await s.one('[data-testid=delete-yes]')).click();
    await waitFor('the message deleted', async () => (await messages(s)).length === 1);

    // The original chat is unchanged: three messages, the third reply chosen among three.
    const options = await s.all('[data-testid=chat-option]');
    const titles = await Promise.all(options.map((o) => o.text()));
    await options[titles.findIndex((t) => t.startsWith('Chat with'))].click();
    assert.equal(await swipedTo(s, 3, 2, '3/3'), third);
    fs.mkdirSync(screenshots, { recursive: true });
    fs.writeFileSync(path.join(screenshots, 'chat-controls.png'), await s.screenshotPng());
  });
});

/** Imports `file` through the wizard (choosing `speaker` when given) and returns the profile page's name. */
async function importThroughWizard(s, file, speaker) {
  await (await s.one('[data-testid=import-open]')).click();
  await (await s.one('[data-testid=import-file]')).type(file);
  const detected = await (await s.one('[data-testid=import-detected]')).text();
  if (speaker) {
    const choices = await s.all('[data-testid=import-speaker]');
    const names = await Promise.all(choices.map((c) => c.attr('data-name')));
    await choices[names.indexOf(speaker)].click();
  }
  const [fewLines] = await s.all('[data-testid=import-few-lines]');
  const few = fewLines ? await fewLines.text() : null;
  // A script's card is drafted from the speaker's lines and shown for editing before Create.
  await (await s.one('[data-testid=import-draft]')).click();
  const field = async (testid) => {
    const box = await s.one(`[data-testid=card-editor] [data-testid=${testid}]`);
    return (await box.attr('value')) ?? (await box.text());
  };
  const draft = await waitFor('the drafted card', async () => {
    const description = await field('card-description');
    return description && { description, greeting: await field('card-firstMessage'), examples: await field('card-exampleDialogue') };
  }, 60000);
  await (await s.one('[data-testid=card-save]')).click();
  const name = await waitFor('the new persona page', async () => {
    const [page] = await s.all('[data-testid=persona-page] [data-testid=persona-name]');
    return page && (await page.text());
  }, 60000);
  return { detected, name, draft, few };
}

test('scripts import through the wizard onto a profile page, and its card exports', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-import-'));
  const screenplay = path.join(root, 'crates/kotodama/tests/fixtures/lantern_screenplay.txt');
  assert.ok(process.env.KOTODAMA_DATA, 'KOTODAMA_DATA names the reference scripts (`make test` sets it)');
  const realScript = path.join(process.env.KOTODAMA_DATA, 'characters/en/c3po.txt');
  await withApp(home, async (s) => {
    const { detected, name, draft, few } = await importThroughWizard(s, screenplay, 'SENSEI KIRI');
    assert.match(few, /^6 distinct lines make a rough profile/);
    assert.match(detected, /lantern_screenplay\.txt — Screenplay, UTF-8 · [\d.]+ kB, 4 speakers/);
    assert.equal(name, 'Sensei Kiri');
    assert.match(draft.description, /^Sensei Kiri, as \d+ lines of lantern_screenplay\.txt show them\./);
    assert.ok(draft.greeting.length > 10, `a greeting from the script: ${draft.greeting}`);
    assert.match(draft.examples, /<START>\n\{\{user\}\}: .+\n\{\{char\}\}: .+/);
    assert.equal(await (await s.one('[data-testid=persona-description]')).text(), draft.description);
    assert.match(await (await s.one('[data-testid=profile-meta]')).text(), /Style profile v1 · \d+ lines/);
    const listed = await Promise.all((await s.all('[data-testid=persona]')).map((p) => p.attr('data-slug')));
    assert.ok(listed.includes('sensei-kiri'), `listed: ${listed}`);

    await (await s.one('[data-testid=export-png]')).click();
    const saved = await (await s.one('[data-testid=export-path]')).text();
    const card = path.join(home, 'exports', 'sensei-kiri.png');
    assert.ok(saved.endsWith(card), saved);
    assert.ok(fs.readFileSync(card).subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])));

    assert.ok(fs.existsSync(realScript), `reference script missing: ${realScript}`);
    const real = await importThroughWizard(s, realScript);
    assert.equal(real.few, null, 'hundreds of lines make a steady profile');
    assert.match(real.detected, /c3po\.txt — Plain, UTF-8 · [\d.]+ kB, 1 speaker/);
    assert.equal(real.name, 'C3po');
    assert.ok((await s.all('[data-testid=signature]')).length >= 10, 'lexical signatures shown');
    assert.ok((await s.all('[data-testid=rule]')).length > 0, 'grammar rules shown');
    assert.ok((await s.all('[data-testid=trait]')).length > 5, 'pragmatic traits shown');
    fs.mkdirSync(screenshots, { recursive: true });
    fs.writeFileSync(path.join(screenshots, 'profile.png'), await s.screenshotPng());
  });
});

test('a re-imported persona compares its two profile versions on its page', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-versions-'));
  const more = path.join(home, 'more-mikoto.txt');
  const lines = Array.from({ length: 60 }, (_, i) => `MIKOTO: Zounds, the lanterns! Zounds, the tide ${i}!\n`);
  fs.writeFileSync(more, lines.join(''));
  execFileSync(cli, ['reimport', 'mikoto', more], { env: { ...process.env, KOTODAMA_HOME: home } });
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=persona][data-slug=mikoto]')).click();
    await (await s.one('[data-testid=open-profile]')).click();
    assert.match(await (await s.one('[data-testid=profile-meta]')).text(), /Style profile v2 · \d+ lines .* · 2 versions/);
    await (await s.one('[data-testid=profile-diff] summary')).click();
    const rows = await waitFor('the diff rows', async () => {
      const found = await s.all('[data-testid=diff-row]');
      return found.length > 0 && found;
    });
    const texts = await Promise.all(rows.map((r) => r.text()));
    assert.ok(texts.some((t) => /^zounds\s*new \d/.test(t)), texts.join(' | '));
    // Traits and rules read in plain words: no internal trait ids on screen.
    assert.ok(texts.some((t) => /^uses interjections.*→/.test(t)), texts.join(' | '));
    assert.ok(!texts.some((t) => /_rate/.test(t)), texts.join(' | '));
  });
});

test('the character editor saves a card whose change reaches the next prompt, and the export carries it', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-editor-'));
  const fact = 'Ririka keeps a jar of sea glass on her windowsill.';
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=persona][data-slug=ririka]')).click();
    await (await s.one('[data-testid=open-profile]')).click();
    await (await s.one('[data-testid=edit-card]')).click();
    const description = await s.one('[data-testid=card-description]');
    await waitFor('the card in the editor', async () => ((await description.attr('value')) ?? '').length > 0 || (await description.text()).length > 0);
    await description.clear();
    await description.type(fact);
    const tags = await s.one('[data-testid=card-tags]');
    await tags.clear();
    await tags.type('calm, sea, , calm');
    await (await s.one('[data-testid=card-save]')).click();
    const shown = await s.one('[data-testid=persona-description]');
    assert.equal(await shown.text(), fact);

    // An image for the character: shown on its page and in the sidebar, carried by its card.
    await (await s.one('[data-testid=avatar-file]')).type(path.join(root, 'crates/kotodama/tests/fixtures/pillow_card.png'));
    await waitFor('the image on the page', async () => (await s.all('[data-testid=persona-page] [data-testid=avatar-image]')).length === 1);
    await waitFor('the image in the sidebar', async () => (await s.all('[data-testid=persona][data-slug=ririka] [data-testid=avatar-image]')).length === 1);

    // A SillyTavern World Info file joins the lorebook; its entry is called when the chat names it.
    const worldInfo = path.join(home, 'sea-glass.json');
    const lore = 'The sea glass came from the beach at Yuigahama, collected the summer Riri turned ten.';
    fs.writeFileSync(worldInfo, JSON.stringify({ entries: { 0: { uid: 0, key: ['sea glass'], keysecondary: [], comment: 'Sea glass', content: lore, constant: false, selective: false, order: 100, disable: false, probability: 100 } } }));
    await (await s.one('[data-testid=lorebook] summary')).click();
    const before = (await s.all('[data-testid=lore-entry]')).length;
    await (await s.one('[data-testid=lore-import]')).type(worldInfo);
    await waitFor('the imported entry', async () => (await s.all('[data-testid=lore-entry]')).length === before + 1);
    await (await s.one('[data-testid=lore-export]')).click();
    await waitFor('the World Info export', async () => /worldinfo\.json$/.test(await (await s.one('[data-testid=lore-notice]')).text()));
    const exported = JSON.parse(fs.readFileSync(path.join(home, 'exports', 'ririka.worldinfo.json'), 'utf8'));
    assert.equal(exported.entries[String(before)].content, lore);

    await (await s.one('[data-testid=open-chat]')).click();
    await (await s.one('[data-testid=composer]')).type('Where did the sea glass come from?');
    await (await s.one('[data-testid=send]')).click();
    await waitFor('the reply', async () => (await messages(s)).length >= 3);
    await (await s.one('[data-testid=show-prompt]')).click();
    const system = await s.one('[data-testid=prompt-turn][data-role=system]');
    assert.ok((await system.text()).includes(fact), await system.text());
    assert.ok((await system.text()).includes(lore), 'the lorebook entry the chat called');
    await s.screenshotPng().then((png) => fs.writeFileSync(path.join(screenshots, 'prompt-viewer.png'), png));
  });
  const out = path.join(home, 'ririka.json');
  execFileSync(cli, ['export', 'ririka', '--format', 'json', '-o', out], { env: { ...process.env, KOTODAMA_HOME: home } });
  const card = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(card.data.description, fact);
  assert.deepEqual(card.data.tags, ['calm', 'sea']);
});

test('the user\'s own persona: named in Settings, it fills the greeting and the prompt, and a chat can pick another', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-you-'));
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=settings-open]')).click();
    for (const [name, about] of [['Haru', 'A night-shift nurse who climbs the hill at dawn.'], ['Aki', '']]) {
      await (await s.one('[data-testid=user-persona-name]')).type(name);
      if (about) await (await s.one('[data-testid=user-persona-description]')).type(about);
      await (await s.one('[data-testid=user-persona-add]')).click();
      await s.one(`[data-testid=user-persona][data-name=${name}]`);
    }
    const defaults = await s.all('[data-testid=user-persona-default]');
    assert.equal(defaults.length, 2);
    await (await s.one('[data-testid=persona][data-slug=mikoto]')).click();
    // Mikoto's festival greeting names the user: swipe to it.
    const greeting = async () => (await messages(s))[0].text;
    await waitFor('the greeting that names the user', async () => {
      if ((await greeting()).includes('-dono')) return true;
      await (await s.one('[data-testid=swipe-next]')).click();
      return false;
    });
    assert.match(await greeting(), /Haru-dono/);
    await (await s.one('[data-testid=show-prompt]')).click();
    const system = await (await s.one('[data-testid=prompt-turn][data-role=system]')).text();
    assert.match(system, /Haru is a university student/);
    assert.match(system, /About Haru: A night-shift nurse/);

    const select = await s.one('[data-testid=you-select]');
    await select.click();
    await (await s.one('[data-testid=you-select] option:nth-child(2)')).click();
    await waitFor('the greeting with the chat\'s own persona', async () => /Aki-dono/.test(await greeting()));
    const prompt = await waitFor('the prompt for Aki', async () => {
      const text = await (await s.one('[data-testid=prompt-turn][data-role=system]')).text();
      return /Aki is a university student/.test(text) && text;
    });
    assert.doesNotMatch(prompt, /night-shift/);
  });
});

test('a file that is not a script or a card is refused by the wizard with its reason', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-badimport-'));
  const bad = path.join(home, 'broken.png');
  fs.writeFileSync(bad, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(20, 0xff)]));
  await withApp(home, async (s) => {
    await waitFor('the bundled personas', async () => (await s.all('[data-testid=persona]')).length === 3);
    await (await s.one('[data-testid=import-open]')).click();
    await (await s.one('[data-testid=import-file]')).type(bad);
    const error = await s.one('[data-testid=import-wizard] [data-testid=error]');
    assert.equal(await error.attr('data-code'), 'PNG_INVALID');
    assert.match(await error.text(), /broken\.png/);
    assert.equal((await s.all('[data-testid=persona]')).length, 3, 'nothing was added');
    // Esc leaves the wizard.
    await s.execute('window.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape" }))');
    await waitFor('the wizard closed', async () => (await s.all('[data-testid=import-wizard]')).length === 0);
  });
});

test('one click distils a persona: progress with a loss chart, then the adapter with its report', { skip: !smollm2 && 'KOTODAMA_SMOLLM2_GGUF is not set (make models)' }, async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-distil-'));
  execFileSync(cli, ['models', 'add', smollm2, '--id', 'smollm2-135m-instruct'], { env: { ...process.env, KOTODAMA_HOME: home } });
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=persona][data-slug=mikoto]')).click();
    await (await s.one('[data-testid=open-profile]')).click();
    await (await s.one('[data-testid=distil-panel] summary')).click();
    await (await s.one('[data-testid=distil-steps]')).type('4');
    await (await s.one('[data-testid=distil-start]')).click();
    await waitFor('the job running', async () => (await s.all('[data-testid=distil-progress]')).length === 1, 30000);
    await waitFor('the loss chart', async () => (await s.all('[data-testid=loss-chart]')).length === 1, 600000);
    fs.mkdirSync(screenshots, { recursive: true });
    fs.writeFileSync(path.join(screenshots, 'distil.png'), await s.screenshotPng());
    // The sidebar shows the job from anywhere in the app.
    // (Read as textContent: WebKitWebDriver reads an ellipsis-cut button's text as empty.)
    await waitFor('the job in the sidebar', async () => {
      const text = await s.execute('return document.querySelector("[data-testid=job-indicator]")?.textContent ?? ""');
      return /Distilling Shirasagi no Mikoto · step \d of 4/.test(text);
    }, 10000);

    // Cancel says so at once; the job stops at the end of its step and offers to resume.
    const asked = Date.now();
    await (await s.one('[data-testid=distil-cancel]')).click();
    await waitFor('cancelling shown', async () => (await (await s.one('[data-testid=distil-progress]')).attr('data-state')) === 'cancelling', 1000);
    measure('cancel_feedback_ms', Date.now() - asked);
    const stopped = await waitFor('the stopped job', async () => (await s.all('[data-testid=distil-stopped]'))[0], 120000);
    assert.equal(await stopped.attr('data-state'), 'cancelled');
    assert.match(await stopped.text(), /Cancelled at \d+%; its checkpoint is kept/);
    await (await s.one('[data-testid=distil-resume]')).click();
    await waitFor('the job running again', async () => (await s.all('[data-testid=distil-progress]')).length === 1, 30000);
    const report = await waitFor('the adapter report', async () => (await s.all('[data-testid=adapter-report]'))[0], 600000);
    const rows = await report.text();
    assert.match(rows, /base \+ card prompt/);
    assert.match(rows, /vanilla adapter/);
    assert.equal(await (await s.one('[data-testid=adapter]')).attr('data-variant'), 'vanilla');
    // The verdict on held-out lines says whether chats use it.
    const verdict = await s.one('[data-testid=adapter-verdict]');
    assert.match(await verdict.attr('data-beats'), /^(true|false)$/);
    assert.match(await verdict.text(), /the base model on held-out lines/);

    // Chats use the newest adapter that beat the base model until the user picks another choice;
    // the choice is stored.
    const selected = () => s.execute('return document.querySelector("[data-testid=chat-adapter]").value');
    assert.equal(await selected(), 'newest');
    await (await s.one('[data-testid=chat-adapter] option[value=none]')).click();
    await waitFor('the choice stored', async () => (await selected()) === 'none');
    await (await s.one('[data-testid=open-chat]')).click();
    await (await s.one('[data-testid=open-profile]')).click();
    await waitFor('the choice after reopening', async () => (await selected()) === 'none');
  });
  const adapters = fs.readdirSync(path.join(home, 'adapters'));
  assert.deepEqual(adapters, ['mikoto-job1']);
});

/** What the window shows badly at its size: labels that overlap, controls whose text is cut, content wider than the window. */
function layoutFaults() {
  const faults = [];
  const canvas = document.createElement('canvas').getContext('2d');
  for (const select of document.querySelectorAll('select')) {
    if (!select.offsetParent) continue;
    const style = getComputedStyle(select);
    canvas.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const text = select.selectedOptions[0]?.textContent ?? '';
    const room = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 16;
    if (canvas.measureText(text).width > room) faults.push(`select cuts "${text}"`);
  }
  for (const ticks of document.querySelectorAll('.ticks')) {
    const boxes = [...ticks.children].map((t) => t.getBoundingClientRect());
    for (let i = 1; i < boxes.length; i++) if (boxes[i].left < boxes[i - 1].right) faults.push(`axis labels overlap: ${ticks.textContent}`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth) faults.push('content wider than the window');
  for (const el of document.querySelectorAll('button, input, select, textarea, summary, a[href]')) {
    if (el.offsetParent && el.tabIndex < 0) faults.push(`not reachable by keyboard: ${el.outerHTML.slice(0, 60)}`);
  }
  return faults;
}

test('the window holds its layout at 1120×760 and 1366×768: no cut or overlapping labels, Close in view, every control reachable by keyboard', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-layout-'));
  await withApp(home, async (s) => {
    for (const [width, height] of [[1120, 760], [1366, 768]]) {
      await s.cmd('POST', '/window/rect', { width, height });
      const faults = async (where) => {
        const found = await s.execute(`return (${layoutFaults.toString()})()`);
        assert.deepEqual(found, [], `${where} at ${width}×${height}`);
      };
      await (await s.one('[data-testid=persona][data-slug=mikoto]')).click();
      await waitFor('the chat', async () => (await messages(s)).length === 1);
      await faults('the chat');
      await (await s.one('[data-testid=open-profile]')).click();
      await s.one('[data-testid=trait]');
      await faults('the persona page');
      await (await s.one('[data-testid=settings-open]')).click();
      await s.one('[data-testid=guard-action]');
      await faults('Settings');
      // Scrolled to its end, Settings still shows Close; Esc leaves it.
      await s.execute('document.querySelector("[data-testid=settings-page] .body").scrollTop = 1e6');
      const close = await s.execute('const r = document.querySelector("[data-testid=settings-close]").getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight]');
      assert.ok(close[0] >= 0 && close[1] <= close[2], `Close at ${close}`);
      await (await s.one('[data-testid=settings-close]')).click();
    }
  });
});

const CANNED_OOC = "As an AI language model, I don't have feelings, but I'm happy to help with your question.";

test('an out-of-character reply (canned by the test hook) is caught, replaced, and kept as a swipe', async () => {
  // No model installed: the canned reply stands in for the model's first attempt (KOTODAMA_TEST_CANNED_REPLY,
  // a test hook), and the guard's second attempt is a line of the character's script.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-guard-'));
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=persona][data-slug=tsubaki]')).click();
    await waitFor('the greeting', async () => (await messages(s)).length === 1);
    await s.execute(`
      window.__retries = [];
      new MutationObserver(() => {
        const r = document.querySelector('[data-testid=guard-retry]');
        if (r && !window.__retries.includes(r.textContent)) window.__retries.push(r.textContent);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    `);
    const caughtAt = Date.now();
    await send(s, 'Who are you, really?');
    const reply = await swipedTo(s, 3, 2, '1/2');
    const guardedMs = Date.now() - caughtAt;
    assert.notEqual(reply, CANNED_OOC, 'the caught reply is not the one shown');
    const [last] = (await messages(s)).slice(-1);
    assert.equal(last.source, 'script');
    const note = await s.one('[data-testid=message]:last-child [data-testid=guard-note]');
    assert.match(await note.text(), /caught out of character · written again \(attempt 2 of 2 kept\)/);
    assert.match(await note.attr('title'), /caught because it talks like an AI assistant/);
    // Hovering the meter explains the score by what the reply shows of the character's profile.
    const kept = await s.one('[data-testid=message]:last-child [data-testid=style-meter]');
    await s.execute('document.querySelector("[data-testid=message]:last-child [data-testid=style-meter]").dispatchEvent(new Event("mouseenter"))');
    const explained = await waitFor('the explanation', async () => {
      const title = await kept.attr('title');
      return /^(uses|patterns|shows)/m.test(title) && title;
    });
    assert.match(explained, /lexical \d+% · syntactic \d+% · pragmatic \d+%/);
    const retries = await s.execute('return window.__retries');
    assert.ok(retries.some((r) => /Out of character: it talks like an AI assistant.*Writing attempt 2 of 2; the best one stays/.test(r)), JSON.stringify(retries));
    fs.mkdirSync(screenshots, { recursive: true });
    fs.writeFileSync(path.join(screenshots, 'ooc-guard.png'), await s.screenshotPng());

    // The caught attempt is the other swipe, flagged on its style meter.
    await press(s, 3, 2, 'swipe-next');
    assert.equal(await swipedTo(s, 3, 2, '2/2'), CANNED_OOC);
    const meter = await s.one('[data-testid=message]:last-child [data-testid=style-meter]');
    assert.match(await meter.attr('class'), /ooc/);
    assert.match(await meter.text(), /talks like an assistant/);

    // What the guard's second attempt cost, against a reply it let through (both from the script here:
    // the guard's own scoring and bookkeeping; a model's second attempt adds its writing time).
    const plainAt = Date.now();
    await send(s, 'What do you do all day?');
    await waitFor('the plain reply', async () => (await messages(s)).length === 5 && (await s.all('[data-testid=streaming-message]')).length === 0);
    measure('guard_caught_reply_ms', guardedMs);
    measure('guard_plain_reply_ms', Date.now() - plainAt);
  }, { KOTODAMA_TEST_CANNED_REPLY: CANNED_OOC });
});

/** A loopback server in the hub's URL layout serving one file of each repository; returns its address. */
async function loopbackHub(...files) {
  const server = http.createServer((req, res) => {
    for (const { repo, name, bytes } of files) {
      if (req.url === `/api/models/${repo}/tree/main`) {
        const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify([{ type: 'file', path: name, size: bytes.length, lfs: { oid: sha256, size: bytes.length } }]));
        return;
      }
      if (req.url === `/${repo}/resolve/main/${name}`) {
        res.setHeader('content-length', bytes.length);
        res.end(bytes);
        return;
      }
    }
    res.statusCode = 404;
    res.end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, server };
}

test('settings: theme kept across a restart, a character\'s sampler and guard, a model downloaded with progress, a catalogue model with its fit', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-settings-'));
  const configHome = path.join(home, 'config');
  const file = crypto.randomBytes(6 * 1024 * 1024);
  const hub = await loopbackHub(
    { repo: 'kotodama-test/tiny-GGUF', name: 'tiny-q4_k_m.gguf', bytes: file },
    { repo: 'Qwen/Qwen3-0.6B-GGUF', name: 'Qwen3-0.6B-Q8_0.gguf', bytes: crypto.randomBytes(3 * 1024 * 1024) },
  );
  const value = (s, testid) => s.execute(`return document.querySelector('[data-testid=${testid}]').value`);
  try {
    await withApp(home, async (s) => {
      await (await s.one('[data-testid=settings-open]')).click();
      await s.one('[data-testid=settings-page]');
      await (await s.one('[data-testid=theme-select] option[value=dark]')).click();
      await waitFor('the dark theme', async () => (await s.execute('return document.documentElement.dataset.theme')) === 'dark');
      assert.match(await (await s.one('[data-testid=data-dir]')).text(), new RegExp(path.basename(home)));
      // Another data folder is recorded in the config folder for the next start.
      await (await s.one('[data-testid=data-dir-input]')).type(path.join(home, 'moved'));
      await (await s.one('[data-testid=data-dir-save]')).click();
      await waitFor('the folder recorded', async () => /from its next start/.test(await (await s.one('[data-testid=settings-notice]')).text()));
      const config = JSON.parse(fs.readFileSync(path.join(configHome, 'kotodama/config.json'), 'utf8'));
      assert.equal(config.dataDir, path.join(home, 'moved'));

      // Tsubaki's settings (the defaults) are changed and saved.
      const tsubaki = await waitFor('Tsubaki in the list', async () => {
        const options = await s.all('[data-testid=settings-persona] option');
        const names = await Promise.all(options.map((o) => o.text()));
        return options[names.findIndex((n) => n.startsWith('Tsubaki'))];
      });
      await tsubaki.click();
      await waitFor('her settings', async () => (await value(s, 'setting-temperature')) === '0.8');
      const temperature = await s.one('[data-testid=setting-temperature]');
      await temperature.clear();
      await temperature.type('0.55');
      await (await s.one('[data-testid=guard-action] option[value=rewrite]')).click();
      await (await s.one('[data-testid=save-chat-settings]')).click();
      await waitFor('saved', async () => /saved/.test(await (await s.one('[data-testid=settings-notice]')).text()));
      // A value out of range is refused with its code and keeps what was stored.
      const topP = await s.one('[data-testid=setting-top-p]');
      await topP.clear();
      await topP.type('0');
      await (await s.one('[data-testid=save-chat-settings]')).click();
      const banner = await s.one('[data-testid=error][data-code=INVALID_INPUT]');
      assert.match(await banner.text(), /top-p must be between/);

      // A model from the (loopback) hub, with progress, then listed and chosen.
      await (await s.one('[data-testid=download-section] summary')).click();
      const endpoint = await s.one('[data-testid=download-endpoint]');
      await endpoint.type(hub.url);
      for (const [testid, text] of [['download-repo', 'kotodama-test/tiny-GGUF'], ['download-include', 'q4_k_m.gguf'], ['download-id', 'tiny']]) {
        const input = await s.one(`[data-testid=${testid}]`);
        await input.clear();
        await input.type(text);
      }
      await (await s.one('[data-testid=download-start]')).click();
      const option = await waitFor('the downloaded model listed', async () => (await s.all('[data-testid=model-option][data-model-id=tiny]'))[0], 60000);
      const progress = await s.one('[data-testid=download-progress]');
      assert.equal(Number(await progress.attr('data-bytes')), file.length, 'progress reached the whole file');
      assert.match(await progress.text(), /tiny-q4_k_m\.gguf · 6\.3 of 6\.3 MB \(100%\)/);
      await (await option.all('input'))[0].click();
      await waitFor('the model chosen', async () => /Replies now come from tiny/.test(await (await s.one('[data-testid=settings-notice]')).text()));

      // A catalogue model, from the same (loopback) hub address: each lists its fit on this machine.
      const fits = await Promise.all((await s.all('[data-testid=catalogue-model]')).map((m) => m.attr('data-fit')));
      assert.ok(fits.length >= 6 && fits.every((f) => ['fits', 'tight', 'tooBig'].includes(f)), fits.join(','));
      const catalogued = await s.one('[data-testid=catalogue-model][data-model-id="qwen3-0.6b-q8_0"]');
      await s.execute("document.querySelector('[data-testid=catalogue-model][data-model-id=\"qwen3-0.6b-q8_0\"]').scrollIntoView()");
      await (await catalogued.all('[data-testid=catalogue-download]'))[0].click();
      const use = await waitFor('the catalogue model installed', async () =>
        (await s.all('[data-testid=catalogue-model][data-model-id="qwen3-0.6b-q8_0"] [data-testid=catalogue-use]'))[0], 60000);
      await use.click();
      await waitFor('the catalogue model chosen', async () => /Replies now come from qwen3-0\.6b-q8_0/.test(await (await s.one('[data-testid=settings-notice]')).text()));
      fs.mkdirSync(screenshots, { recursive: true });
      await s.execute("document.querySelector('[data-testid=catalogue-model]').scrollIntoView()");
      fs.writeFileSync(path.join(screenshots, 'settings.png'), await s.screenshotPng());
    }, { XDG_CONFIG_HOME: configHome });
  } finally {
    hub.server.close();
  }
  const stored = JSON.parse(execFileSync(cli, ['chats', 'settings', 'tsubaki'], { env: { ...process.env, KOTODAMA_HOME: home } }));
  assert.equal(stored.temperature, 0.55);
  assert.equal(stored.guard.action, 'rewrite');
  assert.equal(stored.topP, 0.95, 'the refused value was not stored');
  const downloaded = fs.readFileSync(path.join(home, 'models/tiny/tiny-q4_k_m.gguf'));
  assert.ok(downloaded.equals(file), 'the downloaded file is the served one');
  await withApp(home, async (s) => {
    await s.one('[data-testid=persona]');
    await waitFor('the theme after a restart', async () => (await s.execute('return document.documentElement.dataset.theme')) === 'dark');
  });
});

/** `kotodama serve` on loopback over its own data folder with SmolLM2; resolves once it listens. */
async function servedKotodama() {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-served-'));
  const run = (args) => execFileSync(cli, args, { env: { ...process.env, KOTODAMA_HOME: home } });
  run(['models', 'add', smollm2, '--id', 'smol']);
  // Unguarded on the serving side, so that pieces stream as they are written.
  run(['chats', 'settings', 'tsubaki', '--guard', 'off']);
  const servePort = 20000 + (process.pid % 20000);
  const child = spawn(cli, ['serve', '--addr', `127.0.0.1:${servePort}`], { env: { ...process.env, KOTODAMA_HOME: home } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor('kotodama serve listening', async () => out.includes('serving'), 30000);
  return { url: `http://127.0.0.1:${servePort}/v1`, stop: () => child.kill() };
}

test('a chat answered by a model the user serves, chosen in Settings, its reply cut at the length limit', { skip: !smollm2 && 'KOTODAMA_SMOLLM2_GGUF is not set (make models)' }, async () => {
  const served = await servedKotodama();
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-remote-'));
  // A short limit, so that the reply is cut and the chat says so.
  execFileSync(cli, ['chats', 'settings', 'tsubaki', '--guard', 'off', '--max-reply-tokens', '24'], { env: { ...process.env, KOTODAMA_HOME: home } });
  try {
    await withApp(home, async (s) => {
      await (await s.one('[data-testid=settings-open]')).click();
      await (await s.one('[data-testid=remote-section] summary')).click();
      for (const [testid, text] of [['remote-url', served.url], ['remote-model', 'tsubaki']]) {
        const input = await s.one(`[data-testid=${testid}]`);
        await input.clear();
        await input.type(text);
      }
      await s.execute("document.querySelector('[data-testid=remote-use]').scrollIntoView()");
      await (await s.one('[data-testid=remote-use]:not([disabled])')).click();
      await waitFor('the server chosen', async () => /Replies now come from tsubaki at/.test(await (await s.one('[data-testid=settings-notice]')).text()));
      assert.match(await (await s.one('[data-testid=remote-in-use]')).text(), /tsubaki at http:\/\/127\.0\.0\.1/);
      fs.mkdirSync(screenshots, { recursive: true });
      fs.writeFileSync(path.join(screenshots, 'settings-remote.png'), await s.screenshotPng());
      await (await s.one('[data-testid=settings-close]')).click();

      await (await s.one('[data-testid=persona][data-slug=tsubaki]')).click();
      await waitFor('the greeting', async () => (await messages(s)).length === 1);
      await send(s, 'Good evening! What are you reading?');
      const partial = await streamingReply(s, 3);
      const after = await waitFor('the stored reply', async () => {
        const shown = await messages(s);
        return shown.length === 3 && (await s.all('[data-testid=streaming-message]')).length === 0 && shown;
      }, 120000);
      assert.equal(after[2].source, 'model', 'written by the served model, not the script');
      assert.ok(after[2].text.startsWith(partial.text.slice(0, 10)), JSON.stringify([partial.text, after[2].text]));
      assert.match(await (await s.one('[data-testid=model-status]')).text(), /^tsubaki · served at 127\.0\.0\.1:\d+$/);
      assert.match(await (await s.one('[data-testid=length-notice]')).text(), /stopped at its length limit \(2[0-4] tokens\)/);
      fs.writeFileSync(path.join(screenshots, 'chat-remote.png'), await s.screenshotPng());
      // No session bus: the keyring (asked for a stored key) answers at once that it is not there,
      // instead of D-Bus starting a keyring that would prompt on the virtual display.
    }, { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
  } finally {
    served.stop();
  }
});

/** GET `url` on loopback: the status and JSON body, or null when nothing listens. */
function getJson(url) {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(body) }));
      })
      .on('error', () => resolve(null));
  });
}

test('the switch in Settings serves the characters to other apps, kept across a restart', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-serve-'));
  const servePort = 30000 + (process.pid % 20000);
  const models = `http://127.0.0.1:${servePort}/v1/models`;
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=settings-open]')).click();
    const port = await s.one('[data-testid=local-server-port]');
    await port.clear();
    await port.type(String(servePort));
    await s.execute("document.querySelector('[data-testid=local-server-enabled]').scrollIntoView()");
    await (await s.one('[data-testid=local-server-enabled]')).click();
    const url = await s.one('[data-testid=local-server-url]');
    assert.equal(await url.text(), `Listening at http://127.0.0.1:${servePort}/v1`);
    const listed = await getJson(models);
    assert.equal(listed.status, 200);
    assert.ok(listed.json.data.some((m) => m.id === 'tsubaki'), JSON.stringify(listed.json));
    // Esc closes Settings.
    await (await s.one('[data-testid=local-server-port]')).type('\uE00C');
    await waitFor('Settings closed', async () => (await s.all('[data-testid=settings-page]')).length === 0);
  });
  assert.equal(await getJson(models), null, 'the server stops with the app');
  await withApp(home, async (s) => {
    await s.one('[data-testid=persona]');
    const again = await waitFor('the server on again after a restart', () => getJson(models));
    assert.equal(again.status, 200);
    await (await s.one('[data-testid=settings-open]')).click();
    const enabled = await s.one('[data-testid=local-server-enabled]');
    await s.execute("document.querySelector('[data-testid=local-server-enabled]').scrollIntoView()");
    await enabled.click();
    await waitFor('the server off', async () => (await getJson(models)) === null);
  });
});

test('a data file that is not a Kotodama database is refused and left untouched', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-bad-'));
  const db = path.join(home, 'kotodama.db');
  const bytes = Buffer.from('my diary, not a database\n'.repeat(200));
  fs.writeFileSync(db, bytes);
  await withApp(home, async (s) => {
    const screen = await s.one('[data-testid=startup-error]');
    assert.equal(await screen.attr('data-code'), 'DB_NOT_A_DATABASE');
    assert.match(await screen.text(), /not a SQLite database/);
  });
  assert.ok(fs.readFileSync(db).equals(bytes), 'the file is byte-for-byte unchanged');
});
