// The colour theme: app.css picks its colours by the root element's data-theme (absent: follow the OS).
export type Theme = 'system' | 'light' | 'dark';

export function applyTheme(theme: Theme): void {
  const root = document.documentElement;
  if (theme === 'system') delete root.dataset.theme;
  else root.dataset.theme = theme;
}
