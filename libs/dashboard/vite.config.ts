import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** The Flux server `npm run dashboard:dev` proxies the API and WebSocket to. */
const target = process.env.FLUX_URL ?? 'http://127.0.0.1:3000';

/**
 * The dashboard is built once (`npm run build:dashboard`, run by `npm ci` via the root
 * `prepare`) into dist/, which Flux serves at `/`. Relative asset URLs keep it working behind
 * a proxy that mounts Flux under a path; nothing is inlined, because the page's Content
 * Security Policy allows no inline script, style or data: image.
 */
export default defineConfig({
  root: fileURLToPath(new URL('web', import.meta.url)),
  base: './',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('dist', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  server: {
    proxy: {
      '/api/ws': { target: target.replace(/^http/, 'ws'), ws: true },
      '/api': target,
      '/health': target,
    },
  },
});
