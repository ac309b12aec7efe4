/**
 * `npm start`: one scenecast server with the embedded defaults (DESIGN.md, Modes).
 */
import { buildApp } from './app.js';
import { loadConfig } from './config.js';

const config = loadConfig();
const app = await buildApp(config);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down');
  const force = setTimeout(() => process.exit(1), 10_000);
  force.unref();
  app.close().then(
    () => process.exit(0),
    (error: unknown) => {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    },
  );
};
// A stray rejection is a bug to fix, but not a reason to drop every room's connections.
process.on('unhandledRejection', (error) => app.log.error({ err: error }, 'unhandled rejection'));
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

await app.listen({ port: config.port, host: config.host });
