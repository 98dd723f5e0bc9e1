import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino, type Logger } from 'pino';
import { ErrorCode, FluxError } from '@flux/domain';
import { MemoryChangeFeed } from '@flux/core';
import { closeShardClients, createShardClients, createStateServiceServer, ShardedStateReader, type GrpcLogger } from '../src/index.js';

// The apps pass pino loggers: they must fit the structural logger type without adapters.
const fits = (logger: Logger): GrpcLogger => logger;

describe('logging through pino', () => {
  it('accepts a pino logger and logs failed calls through it', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
        done();
      },
    });
    const fail = async (): Promise<never> => {
      throw new FluxError(ErrorCode.StoreUnavailable, 'redis is down');
    };
    const handle = createStateServiceServer({
      reader: { getEntity: fail, getEntityJson: fail, listEntities: fail, history: fail, counts: fail, eventsApplied: fail },
      feed: new MemoryChangeFeed(),
      partitions: [0],
      logger: fits(pino({ level: 'debug' }, sink)),
    });
    const port = await handle.listen('127.0.0.1:0');
    const clients = createShardClients([`127.0.0.1:${port}`]);
    try {
      await expect(new ShardedStateReader({ shards: clients, partitionCount: 1 }).getEntity('x')).rejects.toMatchObject({
        code: ErrorCode.StoreUnavailable,
      });
      expect(lines).toContainEqual(expect.objectContaining({ msg: 'state service call failed', method: 'GetEntity', level: 40 }));
    } finally {
      closeShardClients(clients);
      await handle.shutdown(200);
    }
  });
});
