import { fileURLToPath } from 'node:url';
import { freePort } from '@flux/core/tooling';
import { startServerProcess, waitUntilReady } from '../../deploy/local/deployment-process.js';
import { serverEnv } from './deployment.js';

export interface Baseline {
  readonly baseUrl: string;
  stop(): Promise<void>;
}

/** Starts baseline-server.ts as its own process, like the deployment under test. */
export async function startBaseline(repoRoot: string): Promise<Baseline> {
  const port = await freePort();
  const script = fileURLToPath(new URL('./baseline-server.ts', import.meta.url));
  const server = startServerProcess('baseline fastify', process.execPath, ['--import', 'tsx', script], {
    cwd: repoRoot,
    env: serverEnv({ PORT: String(port) }),
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(baseUrl, 30_000, server);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return {
    baseUrl,
    stop: async () => {
      await server.stop();
    },
  };
}
