import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// Tauri serves ui/dist; relative asset paths keep the build independent of the serving origin.
export default defineConfig(({ mode }) => ({
  base: './',
  plugins: [svelte()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  // Component tests mount into a DOM (happy-dom, chosen per file): they need Svelte's browser build, not its server one.
  resolve: mode === 'test' ? { conditions: ['browser'] } : {},
  test: { include: ['src/**/*.test.ts'] },
}));
