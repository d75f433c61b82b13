// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { applyTheme } from './theme';

describe('applyTheme', () => {
  const root = document.documentElement;
  afterEach(() => root.removeAttribute('data-theme'));

  it('forces a light or dark theme on the root element', () => {
    applyTheme('dark');
    expect(root.getAttribute('data-theme')).toBe('dark');
    applyTheme('light');
    expect(root.getAttribute('data-theme')).toBe('light');
  });
  it('follows the OS again by removing the attribute', () => {
    applyTheme('dark');
    applyTheme('system');
    expect(root.hasAttribute('data-theme')).toBe(false);
  });
});
