import { fileURLToPath } from 'node:url';

/**
 * Where the built dashboard lives: `index.html` and the content-hashed `assets/` that
 * `npm run build:dashboard` (run by `npm ci` through the root `prepare` script) writes. The
 * servers that serve the read side hand it to `buildServer`; it may be missing, and then the
 * server says so instead of serving a page.
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('../dist', import.meta.url));
