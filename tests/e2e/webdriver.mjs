// A minimal W3C WebDriver client over fetch: enough to drive the Kotodama window through tauri-driver.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export class WebDriverError extends Error {}

async function call(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    // A hung driver call fails the test instead of blocking the suite.
    signal: AbortSignal.timeout(60000),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || json.value?.error) {
    throw new WebDriverError(`${method} ${path}: ${res.status} ${json.value?.error ?? ''} ${json.value?.message ?? ''}`);
  }
  return json.value;
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor(what, probe, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(150);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }
  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }
  async all(css) {
    const found = await this.cmd('POST', '/elements', { using: 'css selector', value: css });
    return found.map((e) => new Element(this, e[ELEMENT]));
  }
  async one(css) {
    return waitFor(`element ${css}`, async () => (await this.all(css))[0]);
  }
  async screenshotPng() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }
  execute(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }
  close() {
    return this.cmd('DELETE', '');
  }
}

/** WebDriver's key code for Enter (a keystroke in `type`). */
export const ENTER = '\uE007';

export class Element {
  constructor(session, id) {
    this.s = session;
    this.id = id;
  }
  click() {
    return this.s.cmd('POST', `/element/${this.id}/click`, {});
  }
  clear() {
    return this.s.cmd('POST', `/element/${this.id}/clear`, {});
  }
  /** The elements matching `css` inside this one. */
  async all(css) {
    const found = await this.s.cmd('POST', `/element/${this.id}/elements`, { using: 'css selector', value: css });
    return found.map((e) => new Element(this.s, e[ELEMENT]));
  }
  type(text) {
    return this.s.cmd('POST', `/element/${this.id}/value`, { text });
  }
  text() {
    return this.s.cmd('GET', `/element/${this.id}/text`);
  }
  attr(name) {
    return this.s.cmd('GET', `/element/${this.id}/attribute/${name}`);
  }
}

/**
 * Starts tauri-driver (which starts WebKitWebDriver, which starts the app) with `env`; the app inherits
 * that environment. They run in a process group of their own so that `stop` ends all of them: an app
 * left behind would hold this process's stdout open and the test runner would wait for it forever.
 */
export async function startDriver({ port, env }) {
  const base = `http://127.0.0.1:${port}`;
  const stopGroup = (driver) => {
    try {
      process.kill(-driver.pid, 'SIGTERM');
    } catch {
      // The group is already gone.
    }
  };
  // A cold WebKitWebDriver has exited at start once in CI, leaving tauri-driver refusing every request:
  // a driver that does not come up is stopped (else the test runner waits for it forever) and started
  // again, up to three times.
  let driver;
  for (let attempt = 1; ; attempt++) {
    driver = spawn('tauri-driver', ['--port', String(port)], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    try {
      await waitFor('tauri-driver', async () => (await fetch(`${base}/status`)).ok, 30000);
      break;
    } catch (e) {
      stopGroup(driver);
      if (attempt === 3) throw e;
    }
  }
  return {
    base,
    async session(application) {
      const caps = {
        capabilities: {
          alwaysMatch: { browserName: 'wry', 'tauri:options': { application } },
        },
      };
      const value = await call(base, 'POST', '/session', caps);
      return new Session(base, value.sessionId);
    },
    stop() {
      stopGroup(driver);
    },
  };
}
