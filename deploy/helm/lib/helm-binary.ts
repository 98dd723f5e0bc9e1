/**
 * The helm binary helm:check runs: FLUX_HELM when set, else helm HELM_VERSION built once from
 * its Go module (`go install`, through the Go module proxy) into a per-user cache and reused.
 * No prebuilt binary is downloaded.
 */
import { execFile } from 'node:child_process';
import { access, constants, mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const HELM_VERSION = 'v4.3.2';
const HELM_MODULE = 'helm.sh/helm/v4/cmd/helm';
const run = promisify(execFile);

/** `$XDG_CACHE_HOME/flux/helm/<version>` (~/.cache when unset). */
export const helmCacheDir = (env: NodeJS.ProcessEnv): string => join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flux', 'helm', HELM_VERSION);

const isExecutable = (path: string): Promise<boolean> =>
  access(path, constants.X_OK).then(
    () => true,
    () => false,
  );

/** `go` from PATH, else the usual install location of the official tarball. */
async function findGo(): Promise<string | undefined> {
  for (const candidate of ['go', '/usr/local/go/bin/go']) {
    try {
      await run(candidate, ['version']);
      return candidate;
    } catch {
      // not there: try the next
    }
  }
  return undefined;
}

export async function ensureHelm(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  if (env.FLUX_HELM) {
    if (!(await isExecutable(env.FLUX_HELM))) throw new Error(`FLUX_HELM=${env.FLUX_HELM} is not an executable file`);
    return env.FLUX_HELM;
  }
  const directory = helmCacheDir(env);
  const binary = join(directory, 'helm');
  if (await isExecutable(binary)) return binary;
  const go = await findGo();
  if (go === undefined) {
    throw new Error(
      `helm ${HELM_VERSION} is not in ${directory} and there is no Go toolchain to build it: put Go 1.21 or newer on PATH (helm ${HELM_VERSION} needs Go 1.26, which Go 1.21+ fetches itself through the module proxy; Debian's golang-go 1.19 is too old) or set FLUX_HELM to a helm v4 binary`,
    );
  }
  log(`building helm ${HELM_VERSION} with go install (once; cached in ${directory}), a few CPU minutes`);
  await mkdir(directory, { recursive: true });
  await run(go, ['install', '-trimpath', `${HELM_MODULE}@${HELM_VERSION}`], {
    env: { ...env, GOBIN: directory, CGO_ENABLED: '0' },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (!(await isExecutable(binary))) throw new Error(`go install ${HELM_MODULE}@${HELM_VERSION} left no ${binary}`);
  return binary;
}
