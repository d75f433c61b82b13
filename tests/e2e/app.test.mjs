// The real app under Xvfb: personas listed from SQLite, a chat sent and answered from the script, the
// chat still there after a restart; replies streamed from the real SmolLM2 weights, one stopped early;
// and a foreign data file refused and left untouched. Run by `make test` (make e2e).
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startDriver, waitFor } from './webdriver.mjs';

const root = path.resolve(import.meta.dirname, '../..');
const application = process.env.KOTODAMA_APP ?? path.join(root, 'target/debug/kotodama-app');
const cli = process.env.KOTODAMA_CLI ?? path.join(root, 'target/debug/kotodama');
const smollm2 = process.env.KOTODAMA_SMOLLM2_GGUF;
const screenshots = path.join(root, 'docs/screenshots');
let port = 4444 + (process.pid % 500);

async function withApp(home, body) {
  const driver = await startDriver({ port: port++, env: { KOTODAMA_HOME: home } });
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

async function messages(s) {
  const all = await s.all('[data-testid=message]');
  return Promise.all(
    all.map(async (m) => ({ role: await m.attr('data-role'), source: await m.attr('data-source'), text: await m.text() })),
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

test('replies stream from the local model into the window, and Stop ends one early', { skip: !smollm2 && 'KOTODAMA_SMOLLM2_GGUF is not set (make models)' }, async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kotodama-e2e-model-'));
  execFileSync(cli, ['models', 'add', smollm2, '--id', 'smollm2-135m-instruct'], { env: { ...process.env, KOTODAMA_HOME: home } });
  await withApp(home, async (s) => {
    await (await s.one('[data-testid=persona][data-slug=mikoto]')).click();
    await waitFor('the greeting', async () => (await messages(s)).length === 1);
    assert.equal((await s.all('[data-testid=reply-mode-notice]')).length, 0, 'no script-mode notice with a model');

    await send(s, 'Good evening! What do you guard here?');
    const partial = await streamingReply(s, 3);
    const after = await waitFor('the stored reply', async () => {
      const m = await messages(s);
      return m.length === 3 && (await s.all('[data-testid=streaming-message]')).length === 0 && m;
    }, 120000);
    assert.equal(after[2].role, 'assistant');
    assert.equal(after[2].source, 'model', 'written by the model, not picked from the script');
    assert.ok(after[2].text.startsWith(partial.text), `the stored reply continues what streamed: ${JSON.stringify([partial.text, after[2].text])}`);
    assert.ok(after[2].text.length > partial.text.length);
    assert.match(await (await s.one('[data-testid=model-status]')).text(), /smollm2-135m-instruct · CPU · \d+ threads?/);
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
