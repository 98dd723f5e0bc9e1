import { describe, expect, it } from 'vitest';
import { localServices, parseServicesOutput } from '../local-services.js';

describe('local services', () => {
  it('takes the export lines services.sh prints', () => {
    expect(parseServicesOutput('noise\nexport KAFKA_BROKERS=127.0.0.1:9092\nexport REDIS_URL=redis://127.0.0.1:6379\n')).toEqual({
      kafkaBrokers: '127.0.0.1:9092',
      redisUrl: 'redis://127.0.0.1:6379',
    });
    expect(() => parseServicesOutput('export REDIS_URL=redis://x:1\n')).toThrow(/KAFKA_BROKERS/);
  });

  it('uses KAFKA_BROKERS and REDIS_URL when both are set, without starting anything', () => {
    expect(localServices({ KAFKA_BROKERS: 'k:1,k:2', REDIS_URL: 'redis://r:3' })).toEqual({ kafkaBrokers: 'k:1,k:2', redisUrl: 'redis://r:3' });
  });
});
