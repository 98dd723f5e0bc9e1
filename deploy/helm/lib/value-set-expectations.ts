/**
 * What each value set under deploy/helm/flux/ci/ must render beyond the rules every rendering
 * obeys: the feature it turns on is there and wired, and what it turns off is absent.
 */
import type { ChartRule } from './chart-assertions.js';
import { componentOf, effectiveEnv, ofKind, workloads, type K8sObject, type Workload } from './manifests.js';

const byComponent = (objects: readonly K8sObject[], component: string): Workload | undefined =>
  workloads(objects).find((workload) => componentOf(workload) === component);

/** The environment of the first container of each Flux role, by component. */
function roleEnvs(objects: readonly K8sObject[]): Map<string, Map<string, string>> {
  const envs = new Map<string, Map<string, string>>();
  for (const workload of workloads(objects)) {
    const container = workload.pod.containers[0];
    if (container) envs.set(componentOf(workload), effectiveEnv(container, objects));
  }
  return envs;
}

const ROLES = ['reducer', 'ingest-gateway', 'query-gateway'] as const;
const GATEWAYS = ['ingest-gateway', 'query-gateway'] as const;

function expectKinds(objects: readonly K8sObject[], present: readonly string[], absent: readonly string[]): string[] {
  return [
    ...present.filter((kind) => ofKind(objects, kind).length === 0).map((kind) => `no ${kind} rendered`),
    ...absent.filter((kind) => ofKind(objects, kind).length > 0).map((kind) => `${kind} rendered though not asked for`),
  ];
}

/** `name` holds `expected` for each of `roles` (a `<secret NAME/KEY>` marker for Secret references). */
function expectEnv(objects: readonly K8sObject[], roles: readonly string[], name: string, expected: string | RegExp): string[] {
  const envs = roleEnvs(objects);
  return roles.flatMap((role) => {
    const value = envs.get(role)?.get(name);
    const ok = value !== undefined && (typeof expected === 'string' ? value === expected : expected.test(value));
    return ok ? [] : [`${role}: ${name} is ${value ?? 'unset'}, expected ${String(expected)}`];
  });
}

/** Every role's `variable` names a file in a read-only mount of Secret `secretName`. */
function expectCaMount(objects: readonly K8sObject[], variable: string, secretName: string): string[] {
  return workloads(objects).flatMap((workload) => {
    const container = workload.pod.containers[0];
    const file = container === undefined ? undefined : effectiveEnv(container, objects).get(variable);
    const mount = file === undefined ? undefined : container?.volumeMounts?.find((candidate) => file.startsWith(`${candidate.mountPath}/`));
    const volume = mount === undefined ? undefined : workload.pod.volumes?.find((candidate) => candidate.name === mount.name);
    return volume?.secret?.secretName === secretName && mount?.readOnly === true
      ? []
      : [`${workload.name}: ${variable} (${file}) is not in a read-only mount of Secret ${secretName}`];
  });
}

/** None of `roles` has `name` in its environment. */
function expectUnset(objects: readonly K8sObject[], roles: readonly string[], name: string): string[] {
  const envs = roleEnvs(objects);
  return roles.flatMap((role) => (envs.get(role)?.has(name) ? [`${role}: ${name} is set (${envs.get(role)?.get(name)}), expected unset`] : []));
}

/** Elastic reducers as the chart wires them: every role told so, reducers known by pod name and IP, no shard list. */
const expectElastic = (objects: readonly K8sObject[], leaseMs: string): string[] => [
  ...expectEnv(objects, ROLES, 'FLUX_REDUCER_ASSIGNMENT', 'elastic'),
  ...expectEnv(objects, ['reducer'], 'FLUX_REDUCER_ID', '<field metadata.name>'),
  ...expectEnv(objects, ['reducer'], 'FLUX_ADVERTISED_HOST', '<field status.podIP>'),
  ...expectEnv(objects, ['reducer'], 'FLUX_REDUCER_LEASE_MS', leaseMs),
  ...expectUnset(objects, ['reducer'], 'SHARD_INDEX'),
  ...expectUnset(objects, ['reducer'], 'SHARD_COUNT'),
  ...expectUnset(objects, GATEWAYS, 'FLUX_SHARD_ADDRESSES'),
  ...(/\bsh\b/.test(byComponent(objects, 'reducer')?.pod.containers[0]?.command?.join(' ') ?? '')
    ? ['the reducer still runs the SHARD_INDEX shell wrapper']
    : []),
];

/** The HPAs that resize `component`'s workload. */
const autoscalersOf = (objects: readonly K8sObject[], component: string): K8sObject[] => {
  const workload = byComponent(objects, component);
  return ofKind(objects, 'HorizontalPodAutoscaler').filter((hpa) => {
    const target = (hpa.spec as { scaleTargetRef?: { kind?: string; name?: string } } | undefined)?.scaleTargetRef;
    return workload !== undefined && target?.kind === workload.kind && target.name === workload.name;
  });
};

const rule = (name: string, description: string, check: (objects: readonly K8sObject[]) => string[]): ChartRule => ({ name, description, check });

export const VALUE_SET_EXPECTATIONS: Readonly<Record<string, readonly ChartRule[]>> = {
  'defaults-values.yaml': [
    rule('defaults', '3 elastic reducers, 1 ingest and 2 query gateways, PDBs, the chart Secret; no optional objects', (objects) => [
      ...expectKinds(
        objects,
        ['StatefulSet', 'Deployment', 'PodDisruptionBudget', 'ConfigMap', 'Secret', 'ServiceAccount'],
        ['HorizontalPodAutoscaler', 'NetworkPolicy', 'Ingress', 'ServiceMonitor'],
      ),
      ...(byComponent(objects, 'reducer')?.replicas === 3 ? [] : ['the reducer StatefulSet does not run 3 pods']),
      ...(byComponent(objects, 'query-gateway')?.replicas === 2 ? [] : ['the query gateways are not 2']),
      ...(ofKind(objects, 'PodDisruptionBudget').length === 3 ? [] : ['not one PodDisruptionBudget per role']),
      ...expectEnv(objects, ROLES, 'FLUX_AUTH_ENABLED', 'false'),
      ...expectElastic(objects, '6000'),
    ]),
  ],
  'static-values.yaml': [
    rule(
      'static',
      'static shards as before elastic assignment: SHARD_INDEX from the pod, SHARD_COUNT 3, the shard list on every gateway',
      (objects) => {
        const command = byComponent(objects, 'reducer')?.pod.containers[0]?.command?.join(' ') ?? '';
        return [
          ...expectUnset(objects, ROLES, 'FLUX_REDUCER_ASSIGNMENT'),
          ...expectEnv(objects, ['reducer'], 'SHARD_COUNT', '3'),
          ...expectEnv(objects, ['reducer'], 'SHARD_INDEX', "<field metadata.labels['apps.kubernetes.io/pod-index']>"),
          ...expectUnset(objects, ['reducer'], 'FLUX_REDUCER_ID'),
          ...expectUnset(objects, ['reducer'], 'FLUX_REDUCER_LEASE_MS'),
          ...expectEnv(objects, GATEWAYS, 'FLUX_SHARD_ADDRESSES', /^([a-z0-9.-]+:50051,){2}[a-z0-9.-]+:50051$/),
          ...(command.includes('SHARD_INDEX') ? [] : ['the reducer does not fall back to the pod name for SHARD_INDEX']),
          ...(byComponent(objects, 'reducer')?.replicas === 3 ? [] : ['the reducer StatefulSet does not run 3 shards']),
          ...expectKinds(objects, ['NetworkPolicy'], ['HorizontalPodAutoscaler']),
        ];
      },
    ),
  ],
  'reducer-autoscaling-values.yaml': [
    rule('reducer-autoscaling', "an HPA (CPU 60%, 3-12) owns the elastic reducers' scale; lease 4 s; NetworkPolicies on", (objects) => {
      const hpas = autoscalersOf(objects, 'reducer');
      const spec = (hpas[0]?.spec ?? {}) as {
        minReplicas?: number;
        maxReplicas?: number;
        metrics?: readonly { resource?: { name?: string; target?: { averageUtilization?: number } } }[];
      };
      const cpu = spec.metrics?.find((metric) => metric.resource?.name === 'cpu')?.resource?.target?.averageUtilization;
      return [
        ...(hpas.length === 1 ? [] : [`${hpas.length} HPAs resize the reducer StatefulSet, expected 1`]),
        ...(spec.minReplicas === 3 && spec.maxReplicas === 12 && cpu === 60
          ? []
          : [`the reducer HPA is ${spec.minReplicas}-${spec.maxReplicas} at ${cpu}% CPU`]),
        ...(byComponent(objects, 'reducer')?.replicas === undefined ? [] : ['the reducer StatefulSet still sets replicas']),
        ...expectElastic(objects, '4000'),
        ...expectEnv(objects, ROLES, 'FLUX_PARTITIONS', '24'),
        ...expectKinds(objects, ['NetworkPolicy'], []),
      ];
    }),
  ],
  'public-existing-secrets-values.yaml': [
    rule('existing-secrets', 'public mode; admin token, encryption key and Redis URL read from existing Secrets, none rendered', (objects) => [
      ...expectKinds(objects, [], ['Secret']),
      ...expectEnv(objects, ROLES, 'FLUX_AUTH_ENABLED', 'true'),
      ...expectEnv(objects, GATEWAYS, 'FLUX_ADMIN_TOKEN', '<secret flux-app/FLUX_ADMIN_TOKEN>'),
      ...expectEnv(objects, GATEWAYS, 'FLUX_ENCRYPTION_KEY', '<secret flux-app/FLUX_ENCRYPTION_KEY>'),
      ...expectEnv(objects, ROLES, 'REDIS_URL', '<secret flux-redis/REDIS_URL>'),
      ...ofKind(objects, 'ConfigMap').flatMap((configMap) => ('REDIS_URL' in (configMap.data ?? {}) ? ['REDIS_URL is in the ConfigMap too'] : [])),
      ...(byComponent(objects, 'reducer')?.replicas === 4 ? [] : ['the reducer StatefulSet does not run the 4 pods asked for']),
    ]),
  ],
  'kafka-tls-sasl-values.yaml': [
    rule(
      'kafka-tls-sasl',
      'every role reaches Kafka over TLS (CA mounted from a Secret) with SASL/SCRAM (password from a Secret); egress to the TLS port',
      (objects) => [
        ...expectEnv(objects, ROLES, 'FLUX_KAFKA_TLS', 'true'),
        ...expectEnv(objects, ROLES, 'FLUX_KAFKA_SASL_MECHANISM', 'scram-sha-512'),
        ...expectEnv(objects, ROLES, 'FLUX_KAFKA_SASL_USERNAME', 'flux'),
        ...expectEnv(objects, ROLES, 'FLUX_KAFKA_SASL_PASSWORD', '<secret flux-kafka/password>'),
        ...expectCaMount(objects, 'FLUX_KAFKA_TLS_CA_FILE', 'flux-kafka-tls'),
        ...ofKind(objects, 'NetworkPolicy').flatMap((policy) =>
          JSON.stringify(policy.spec?.egress ?? []).includes('"port":9096') ? [] : [`${policy.metadata.name} sends nothing to Kafka's port 9096`],
        ),
      ],
    ),
  ],
  'redis-cluster-values.yaml': [
    rule('redis-cluster', 'every role uses the Redis Cluster client over TLS, with the URL from a Secret', (objects) => [
      ...expectEnv(objects, ROLES, 'FLUX_REDIS_CLUSTER', 'true'),
      ...expectEnv(objects, ROLES, 'REDIS_URL', '<secret flux-redis/REDIS_URL>'),
      ...expectEnv(objects, ROLES, 'FLUX_REDIS_TLS_CA_FILE', '/etc/flux/redis-tls/ca.crt'),
      ...expectCaMount(objects, 'FLUX_REDIS_TLS_CA_FILE', 'flux-redis-tls'),
    ]),
  ],
  'ingress-monitoring-values.yaml': [
    rule(
      'ingress-monitoring',
      'TLS Ingress to the query gateways, batch writes to the ingest gateway, a ServiceMonitor, the chart Secret',
      (objects) => {
        const ingress = ofKind(objects, 'Ingress')[0];
        const paths = (
          (ingress?.spec?.rules ?? []) as readonly { http?: { paths: readonly { path: string; backend: { service?: { name: string } } }[] } }[]
        ).flatMap((entry) => entry.http?.paths ?? []);
        const ingest = byComponent(objects, 'ingest-gateway')?.name;
        const query = byComponent(objects, 'query-gateway')?.name;
        const secret = ofKind(objects, 'Secret')[0];
        return [
          ...expectKinds(objects, ['Ingress', 'ServiceMonitor', 'Secret'], []),
          ...((ingress?.spec?.tls as readonly unknown[] | undefined)?.length ? [] : ['the Ingress has no TLS']),
          ...(paths.some((path) => path.path === '/api/events/batch' && path.backend.service?.name === ingest)
            ? []
            : ['batch writes do not go to the ingest gateway']),
          ...(paths.some((path) => path.path === '/' && path.backend.service?.name === query) ? [] : ['/ does not go to the query gateways']),
          ...(secret && 'FLUX_ADMIN_TOKEN' in (secret.data ?? {}) && 'FLUX_ENCRYPTION_KEY' in (secret.data ?? {})
            ? []
            : ['the chart Secret lacks the admin token or encryption key']),
          ...expectEnv(objects, GATEWAYS, 'FLUX_ADMIN_TOKEN', /^<secret .+\/FLUX_ADMIN_TOKEN>$/),
        ];
      },
    ),
  ],
  'autoscaling-values.yaml': [
    rule('autoscaling', 'an HPA per gateway (none on the reducers), a NetworkPolicy per role, strict zone spread, 6 reducers', (objects) => {
      const hpaTargets = ofKind(objects, 'HorizontalPodAutoscaler').map(
        (hpa) => (hpa.spec as { scaleTargetRef?: { name?: string } } | undefined)?.scaleTargetRef?.name,
      );
      return [
        ...GATEWAYS.flatMap((gateway) => (hpaTargets.includes(byComponent(objects, gateway)?.name) ? [] : [`no HPA for the ${gateway}`])),
        ...ROLES.flatMap((role) => {
          const workload = byComponent(objects, role);
          const policies = ofKind(objects, 'NetworkPolicy').filter((policy) => policy.metadata.labels?.['app.kubernetes.io/component'] === role);
          const strict = workload?.pod.topologySpreadConstraints?.some(
            (constraint) =>
              constraint.topologyKey === 'topology.kubernetes.io/zone' &&
              (constraint as { whenUnsatisfiable?: string }).whenUnsatisfiable === 'DoNotSchedule',
          );
          return [
            ...(policies.length === 1 ? [] : [`${policies.length} NetworkPolicies for the ${role}`]),
            ...(strict ? [] : [`the ${role} is not spread strictly over zones`]),
          ];
        }),
        ...(byComponent(objects, 'reducer')?.replicas === 6 ? [] : ['the reducer StatefulSet does not run 6 pods']),
        ...(autoscalersOf(objects, 'reducer').length === 0 ? [] : ['an HPA resizes the reducers, which this value set does not ask for']),
      ];
    }),
  ],
};

/**
 * Values that the chart must refuse at render time, with a piece of the message it must give.
 * Each is a list of `--set` assignments on top of the defaults value set.
 */
export const REFUSED_VALUES: readonly { readonly set: readonly string[]; readonly message: string }[] = [
  { set: ['kafka.brokers='], message: 'kafka.brokers is required' },
  { set: ['config.shutdownTimeoutMs=40000'], message: 'terminationGracePeriodSeconds' },
  { set: ['reducer.shards=0'], message: '/reducer/shards' },
  { set: ['config.http.headersTimeoutMs=40000'], message: 'must not exceed config.http.requestTimeoutMs' },
  { set: ['kafka.sasl.mechanism=scram-sha-512'], message: 'kafka.sasl needs username and existingSecret' },
  { set: ['secrets.encryptionKey=short'], message: 'secrets.encryptionKey must be the base64 encoding of exactly 32 bytes' },
  { set: ['reducer.assignment=sharded'], message: '/reducer/assignment' },
  { set: ['reducer.leaseMs=500'], message: '/reducer/leaseMs' },
  { set: ['reducer.assignment=static', 'reducer.autoscaling.enabled=true'], message: 'reducer.autoscaling needs reducer.assignment: elastic' },
  { set: ['reducer.autoscaling.enabled=true', 'reducer.autoscaling.minReplicas=8'], message: 'must not exceed maxReplicas' },
];
