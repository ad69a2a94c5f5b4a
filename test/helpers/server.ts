import { DEFAULT_CONFIG, silentLogger, startServer, type Config, type ServerDeps, type SkeinServer } from '@skein/server';

/** A real Skein server on a free loopback port, silent unless SKEIN_TEST_LOG is set. */
export async function startTestServer(
  overrides: Partial<Config> = {},
  deps: ServerDeps = {},
): Promise<SkeinServer> {
  const config: Config = Object.freeze({
    ...DEFAULT_CONFIG,
    host: '127.0.0.1',
    port: 0,
    // In-memory unless a test asks for LevelDB (then with its own temp data dir).
    storage: 'memory',
    logLevel: process.env.SKEIN_TEST_LOG ? 'debug' : 'silent',
    ...overrides,
  });
  return startServer(config, { logger: process.env.SKEIN_TEST_LOG ? undefined : silentLogger(), ...deps } as ServerDeps);
}
