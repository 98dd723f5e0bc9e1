import { afterEach, beforeEach } from 'vitest';

/**
 * What an adapter under test provides to a contract suite. Each test gets a fresh fixture
 * (fresh, empty data); `open` may be called again after closing an adapter, to check that data
 * survives a restart, and `dispose` removes the data once the test is over.
 */
export interface ContractFixture<T> {
  /** Opens an adapter on this fixture's data (a second instance when one is already open). */
  open(): Promise<T>;
  /** Releases the data. Called after every adapter the suite opened has been closed. */
  dispose(): Promise<void>;
}

export interface FixtureHandle<T> {
  open(): Promise<T>;
  /** Closes an adapter opened through this handle. */
  close(adapter: T): Promise<void>;
  /** Closes an adapter and opens a new one on the same data (a restart). */
  reopen(adapter: T): Promise<T>;
}

/**
 * Registers the per-test lifecycle of a fixture. Adapters still open when a test ends are
 * closed before the fixture is disposed, so a failing test never leaks handles into the next.
 */
export function useContractFixture<T>(create: () => Promise<ContractFixture<T>>, closeAdapter: (adapter: T) => Promise<void>): FixtureHandle<T> {
  let fixture: ContractFixture<T> | undefined;
  const opened = new Set<T>();

  beforeEach(async () => {
    fixture = await create();
  });

  afterEach(async () => {
    const current = fixture;
    fixture = undefined;
    const adapters = [...opened];
    opened.clear();
    try {
      for (const adapter of adapters) await closeAdapter(adapter);
    } finally {
      await current?.dispose();
    }
  });

  const handle: FixtureHandle<T> = {
    async open() {
      if (fixture === undefined) throw new Error('the contract fixture is only available inside a test');
      const adapter = await fixture.open();
      opened.add(adapter);
      return adapter;
    },
    async close(adapter) {
      opened.delete(adapter);
      await closeAdapter(adapter);
    },
    async reopen(adapter) {
      await handle.close(adapter);
      return handle.open();
    },
  };
  return handle;
}
