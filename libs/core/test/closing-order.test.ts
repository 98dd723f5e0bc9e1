import { expect, it } from 'vitest';
import { ClosingOrder } from '../src/index.js';

it('closes in the reverse of the order parts were added, and a failing part does not keep the rest open', async () => {
  const warnings: unknown[] = [];
  const closing = new ClosingOrder({ warn: (details: unknown) => warnings.push(details) });
  const closed: string[] = [];
  closing.add('store', () => closed.push('store'));
  closing.add('service', () => {
    throw new Error('stuck');
  });
  closing.add('server', async () => {
    await Promise.resolve();
    closed.push('server');
  });
  await closing.close();
  expect(closed).toEqual(['server', 'store']);
  expect(warnings).toMatchObject([{ step: 'service' }]);
  // Closed once: a second close (a repeated signal) does nothing.
  await closing.close();
  expect(closed).toEqual(['server', 'store']);
});
