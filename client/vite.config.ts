/**
 * The web client: two pages (the editor at `/`, the overlay at `/overlay/:room`) built into
 * client/dist, which the server serves (server/http/static-routes.ts). Code shared with the server
 * is imported from ../shared/*.js like everywhere else in the repo; Vite resolves those to the .ts
 * files.
 */
import path from 'node:path';
import { defineConfig } from 'vite';

const client = import.meta.dirname;
const repo = path.resolve(client, '..');

export default defineConfig({
  root: client,
  // Assets are served from /assets/ at the site root, also for /overlay/:room.
  base: '/',
  publicDir: false,
  build: {
    outDir: path.join(client, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
    rollupOptions: {
      input: {
        index: path.join(client, 'index.html'),
        overlay: path.join(client, 'overlay.html'),
      },
    },
  },
  server: {
    // The dev server may read ../shared.
    fs: { allow: [repo] },
  },
});
