import type { Logger } from 'pino';

/**
 * The order a process closes its parts in: the reverse of the order they were registered,
 * which is the order they were opened (the server before the services it calls, the services
 * before the stores under them). A failing step is logged and the others still run, so one
 * stuck adapter never keeps the rest open.
 */
export class ClosingOrder {
  private readonly steps: { readonly name: string; readonly close: () => unknown }[] = [];

  constructor(private readonly logger: Pick<Logger, 'warn'>) {}

  /** Registers `close` to run before everything registered earlier. */
  add(name: string, close: () => unknown): void {
    this.steps.push({ name, close });
  }

  async close(): Promise<void> {
    for (const { name, close } of this.steps.splice(0).reverse()) {
      try {
        await close();
      } catch (error) {
        this.logger.warn({ err: error, step: name }, 'closing a part failed; closing the rest');
      }
    }
  }
}
