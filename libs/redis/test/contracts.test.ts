import { describeWithRedis } from '@flux/core/testing';
import { describeRedisPortSuites } from './port-suites.js';
import { redisSettingsFromEnv } from './support.js';

// Against the Redis the environment names: standalone, or a Redis Cluster under FLUX_REDIS_CLUSTER=true.
describeWithRedis('Redis adapters', () => describeRedisPortSuites(redisSettingsFromEnv));
