// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import type { UpgradeProgress } from '../lib/types';
import PersonaList from './PersonaList.svelte';
import { mountForTest } from './mountForTest';

let mounted: ReturnType<typeof mountForTest> | undefined;
afterEach(() => mounted?.destroy());

function updateLine(profileUpdate: UpgradeProgress | null): string | null {
  mounted?.destroy();
  mounted = mountForTest(PersonaList, {
    personas: [],
    selectedId: null,
    profileUpdate,
    onselect: () => {},
    onimport: () => {},
    onsettings: () => {},
  });
  return mounted.target.querySelector('[data-testid=profile-update]')?.textContent?.trim() ?? null;
}

describe('PersonaList', () => {
  it('shows the style profiles update in the sidebar only while it runs', () => {
    expect(updateLine({ done: 1, total: 3 })).toBe('Updating style profiles 1/3');
    expect(updateLine({ done: 3, total: 3 })).toBeNull();
    expect(updateLine(null)).toBeNull();
  });
});
