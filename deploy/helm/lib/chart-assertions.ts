/**
 * What must hold of every rendering of the chart, whatever the values: each rule reads the
 * rendered objects and returns one message per violation (none when it holds).
 */
import {
  componentOf,
  containerPort,
  describe,
  effectiveEnv,
  matches,
  ofKind,
  selects,
  workloads,
  type Container,
  type K8sObject,
  type LabelSelector,
  type Labels,
  type Probe,
  type Workload,
} from './manifests.js';

export interface ChartRule {
  readonly name: string;
  /** What the rule guards against, for the report. */
  readonly description: string;
  check(objects: readonly K8sObject[]): string[];
}

/** The endpoints every Flux process serves for probes (gateways on http, reducers on metrics). */
const PROBE_PATHS = { liveness: '/health', readiness: '/ready' } as const;
const SECRET_NAME = /(TOKEN|PASSWORD|SECRET|CREDENTIALS?|_KEY)$/;
/** user:password@ in a URL. */
const URL_WITH_PASSWORD = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*:[^/@\s]+@/i;

const containersOf = (workload: Workload): readonly Container[] => workload.pod.containers;

function probeProblems(where: string, container: Container, kind: keyof typeof PROBE_PATHS | 'startup', probe: Probe | undefined): string[] {
  if (probe === undefined) return [`${where}: no ${kind} probe`];
  if (probe.httpGet === undefined) return [`${where}: ${kind} probe is not an HTTP GET on a Flux endpoint`];
  const problems: string[] = [];
  const allowed = kind === 'startup' ? Object.values(PROBE_PATHS) : [PROBE_PATHS[kind]];
  if (!allowed.includes(probe.httpGet.path as never))
    problems.push(`${where}: ${kind} probe GETs ${probe.httpGet.path ?? '(no path)'}, not ${allowed.join(' or ')}`);
  if (containerPort(container, probe.httpGet.port) === undefined)
    problems.push(`${where}: ${kind} probe port ${probe.httpGet.port} is none of the container's ports`);
  return problems;
}

export const probesOnRealEndpoints: ChartRule = {
  name: 'probes',
  description: 'startup, readiness (/ready) and liveness (/health) probes on a declared container port',
  check: (objects) =>
    workloads(objects).flatMap((workload) =>
      containersOf(workload).flatMap((container) => {
        const where = `${workload.kind}/${workload.name} container ${container.name}`;
        return [
          ...probeProblems(where, container, 'startup', container.startupProbe),
          ...probeProblems(where, container, 'readiness', container.readinessProbe),
          ...probeProblems(where, container, 'liveness', container.livenessProbe),
        ];
      }),
    ),
};

export const disruptionBudgetsSelectTheirPods: ChartRule = {
  name: 'pdb-selectors',
  description: 'each PodDisruptionBudget selects the pods of exactly one workload',
  check: (objects) =>
    ofKind(objects, 'PodDisruptionBudget').flatMap((pdb) => {
      const selector = pdb.spec?.selector as LabelSelector | undefined;
      const selected = workloads(objects).filter((workload) => selects(selector, workload.podLabels));
      return selected.length === 1
        ? []
        : [`${describe(pdb)} selects the pods of ${selected.length} workloads (${selected.map((workload) => workload.name).join(', ') || 'none'})`];
    }),
};

export const servicesReachTheirPods: ChartRule = {
  name: 'service-selectors',
  description: "each Service selects pods, and its target ports are those pods' named ports",
  check: (objects) =>
    ofKind(objects, 'Service').flatMap((service) => {
      const selector = service.spec?.selector as Labels | undefined;
      const selected = workloads(objects).filter((workload) => matches(selector, workload.podLabels));
      if (selected.length === 0) return [`${describe(service)} selects no pods`];
      const ports = (service.spec?.ports ?? []) as readonly { name?: string; targetPort?: string | number }[];
      return ports.flatMap((port) =>
        selected.flatMap((workload) =>
          port.targetPort !== undefined &&
          !containersOf(workload).some((container) => containerPort(container, port.targetPort as string | number) !== undefined)
            ? [`${describe(service)} port ${port.name ?? '?'} targets ${port.targetPort}, which ${workload.name}'s pods do not expose`]
            : [],
        ),
      );
    }),
};

export const noInlinedSecrets: ChartRule = {
  name: 'no-inline-secret',
  description: 'tokens, keys and passwords come from Secrets: never a literal env value or ConfigMap entry, no URL with a password',
  check: (objects) => {
    const problems: string[] = [];
    for (const configMap of ofKind(objects, 'ConfigMap')) {
      for (const [key, value] of Object.entries(configMap.data ?? {})) {
        if (SECRET_NAME.test(key)) problems.push(`${describe(configMap)} holds ${key}, a secret`);
        if (URL_WITH_PASSWORD.test(value)) problems.push(`${describe(configMap)} ${key} is a URL with a password`);
      }
    }
    for (const workload of workloads(objects)) {
      for (const container of containersOf(workload)) {
        for (const variable of container.env ?? []) {
          if (variable.value === undefined) continue;
          if (SECRET_NAME.test(variable.name))
            problems.push(`${workload.name}/${container.name}: ${variable.name} is inlined, not read from a Secret`);
          if (URL_WITH_PASSWORD.test(variable.value)) problems.push(`${workload.name}/${container.name}: ${variable.name} is a URL with a password`);
        }
      }
    }
    return problems;
  },
};

export const secretReferencesResolve: ChartRule = {
  name: 'secret-refs',
  description: 'a reference to a Secret rendered by the chart names one of its keys, unless optional',
  check: (objects) =>
    workloads(objects).flatMap((workload) =>
      containersOf(workload).flatMap((container) =>
        (container.env ?? []).flatMap((variable) => {
          const reference = variable.valueFrom?.secretKeyRef;
          if (reference === undefined || reference.optional === true) return [];
          const secret = objects.find((object) => object.kind === 'Secret' && object.metadata.name === reference.name);
          if (secret === undefined) return []; // an existing Secret of the cluster's
          const keys = [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
          return keys.includes(reference.key)
            ? []
            : [`${workload.name}/${container.name}: ${variable.name} reads key ${reference.key}, which ${describe(secret)} lacks`];
        }),
      ),
    ),
};

/** The reducer StatefulSet: the one whose pods are the reducer component. */
const reducerOf = (objects: readonly K8sObject[]): Workload | undefined =>
  workloads(objects).find((workload) => workload.kind === 'StatefulSet' && componentOf(workload) === 'reducer');

/** The environment of a workload's first container (the Flux process). */
const envOf = (workload: Workload, objects: readonly K8sObject[]): Map<string, string> => {
  const container = workload.pod.containers[0];
  return container ? effectiveEnv(container, objects) : new Map<string, string>();
};

/** FLUX_REDUCER_ASSIGNMENT as a process reads it: static when unset, the application's default. */
const assignmentOf = (env: ReadonlyMap<string, string>): string => env.get('FLUX_REDUCER_ASSIGNMENT') ?? 'static';

/** Static: SHARD_COUNT = replicas, and every gateway lists shard i at pod i of the headless Service. */
function staticShardWiring(
  objects: readonly K8sObject[],
  reducer: Workload,
  env: ReadonlyMap<string, string>,
  grpcPort: number | undefined,
): string[] {
  const problems: string[] = [];
  const shards = reducer.replicas ?? 1;
  if (env.get('SHARD_COUNT') !== String(shards))
    problems.push(`reducer SHARD_COUNT is ${env.get('SHARD_COUNT')}, its StatefulSet has ${shards} replicas`);
  const partitions = Number(env.get('FLUX_PARTITIONS'));
  if (!(partitions >= shards)) problems.push(`FLUX_PARTITIONS (${env.get('FLUX_PARTITIONS')}) is below the ${shards} shards`);
  for (const gateway of workloads(objects).filter((workload) => workload.name !== reducer.name)) {
    for (const gatewayContainer of containersOf(gateway)) {
      const listed = effectiveEnv(gatewayContainer, objects).get('FLUX_SHARD_ADDRESSES');
      if (listed === undefined) {
        problems.push(`${gateway.name}: no FLUX_SHARD_ADDRESSES`);
        continue;
      }
      const addresses = listed.split(',');
      if (addresses.length !== shards)
        problems.push(`${gateway.name}: FLUX_SHARD_ADDRESSES lists ${addresses.length} shards, the StatefulSet runs ${shards}`);
      addresses.forEach((address, index) => {
        const expected = new RegExp(`^${reducer.name}-${index}\\.${reducer.serviceName ?? ''}\\.[a-z0-9-]+\\.svc\\.[a-z0-9.-]+:${grpcPort ?? ''}$`);
        if (!expected.test(address))
          problems.push(
            `${gateway.name}: shard ${index} is at ${address}, not pod ${reducer.name}-${index} of ${reducer.serviceName} on port ${grpcPort}`,
          );
      });
    }
  }
  return problems;
}

/** The downward API fields an elastic reducer is known by: a stable, unique id and the address gateways dial. */
const ELASTIC_IDENTITY = { FLUX_REDUCER_ID: 'metadata.name', FLUX_ADVERTISED_HOST: 'status.podIP' } as const;

/** True when a PodDisruptionBudget lets at least one selected pod be evicted. */
function allowsADisruption(pdb: K8sObject): boolean {
  const spec = (pdb.spec ?? {}) as { maxUnavailable?: number | string; minAvailable?: number | string };
  if (spec.maxUnavailable === undefined) return spec.minAvailable === undefined;
  return typeof spec.maxUnavailable === 'number' ? spec.maxUnavailable >= 1 : !/^0+%$/.test(spec.maxUnavailable);
}

/** Elastic: the reducer is its pod (name and IP), no shard is fixed, and gateways list none. */
function elasticWiring(objects: readonly K8sObject[], reducer: Workload, env: ReadonlyMap<string, string>): string[] {
  const problems: string[] = [];
  for (const [name, field] of Object.entries(ELASTIC_IDENTITY)) {
    if (env.get(name) !== `<field ${field}>`) problems.push(`reducer ${name} is ${env.get(name) ?? 'unset'}, not the pod's ${field}`);
  }
  for (const name of ['SHARD_INDEX', 'SHARD_COUNT']) {
    if (env.has(name)) problems.push(`reducer sets ${name}, which elastic reducers do not read`);
  }
  const lease = env.get('FLUX_REDUCER_LEASE_MS');
  if (lease !== undefined && !(Number.isInteger(Number(lease)) && Number(lease) >= 1_000 && Number(lease) <= 300_000))
    problems.push(`reducer FLUX_REDUCER_LEASE_MS is ${lease}, not 1000-300000`);
  for (const gateway of workloads(objects).filter((workload) => workload.name !== reducer.name)) {
    if (envOf(gateway, objects).has('FLUX_SHARD_ADDRESSES'))
      problems.push(`${gateway.name}: sets FLUX_SHARD_ADDRESSES, but elastic gateways route by the partition map`);
  }
  for (const pdb of ofKind(objects, 'PodDisruptionBudget').filter((candidate) =>
    selects(candidate.spec?.selector as LabelSelector | undefined, reducer.podLabels),
  )) {
    if (!allowsADisruption(pdb))
      problems.push(`${describe(pdb)} allows no voluntary disruption of the elastic reducers, which hand their partitions over`);
  }
  return problems;
}

export const reducerWiring: ChartRule = {
  name: 'reducer-wiring',
  description:
    'one FLUX_REDUCER_ASSIGNMENT on every role; gRPC port and headless Service; static: SHARD_COUNT = replicas, gateways list shard i at pod i; elastic: reducer id = pod name, advertised host = pod IP, no shard list, PDB lets one go',
  check: (objects) => {
    const reducer = reducerOf(objects);
    if (reducer === undefined) return ['no reducer StatefulSet'];
    const problems: string[] = [];
    const env = envOf(reducer, objects);
    const assignment = assignmentOf(env);
    if (assignment !== 'static' && assignment !== 'elastic') problems.push(`FLUX_REDUCER_ASSIGNMENT is ${assignment}, neither static nor elastic`);
    for (const workload of workloads(objects).filter((candidate) => candidate.name !== reducer.name)) {
      const own = assignmentOf(envOf(workload, objects));
      if (own !== assignment) problems.push(`${workload.name}: FLUX_REDUCER_ASSIGNMENT is ${own}, the reducers' is ${assignment}`);
    }
    const container = reducer.pod.containers[0];
    const grpcPort = container && containerPort(container, 'grpc');
    if (grpcPort === undefined || env.get('GRPC_PORT') !== String(grpcPort))
      problems.push(`reducer GRPC_PORT ${env.get('GRPC_PORT')} is not its container port "grpc" (${grpcPort})`);
    const headless = ofKind(objects, 'Service').find((service) => service.metadata.name === reducer.serviceName);
    if (headless === undefined) problems.push(`reducer serviceName ${reducer.serviceName} is no rendered Service`);
    else {
      if (headless.spec?.clusterIP !== 'None') problems.push(`${describe(headless)} is not headless`);
      if (!matches(headless.spec?.selector as Labels | undefined, reducer.podLabels))
        problems.push(`${describe(headless)} does not select the reducer pods`);
    }
    problems.push(...(assignment === 'elastic' ? elasticWiring(objects, reducer, env) : staticShardWiring(objects, reducer, env, grpcPort)));
    return problems;
  },
};

export const ingestUrlReachesTheIngestGateway: ChartRule = {
  name: 'ingest-url',
  description: "FLUX_INGEST_URL is the ingest gateway Service's DNS name and port",
  check: (objects) =>
    workloads(objects).flatMap((workload) =>
      containersOf(workload).flatMap((container) => {
        const url = effectiveEnv(container, objects).get('FLUX_INGEST_URL');
        if (url === undefined) return componentOf(workload) === 'query-gateway' ? [`${workload.name}: no FLUX_INGEST_URL`] : [];
        const match = /^http:\/\/([a-z0-9-]+)\.[a-z0-9-]+\.svc\.[a-z0-9.-]+:(\d+)$/.exec(url);
        const service = match && ofKind(objects, 'Service').find((candidate) => candidate.metadata.name === match[1]);
        const ports = (service?.spec?.ports ?? []) as readonly { port: number }[];
        const target = service && workloads(objects).find((candidate) => matches(service.spec?.selector as Labels | undefined, candidate.podLabels));
        if (!match || !service || !ports.some((port) => String(port.port) === match[2]) || !target || componentOf(target) !== 'ingest-gateway')
          return [`${workload.name}: FLUX_INGEST_URL ${url} is no port of a Service of the ingest gateway`];
        return [];
      }),
    ),
};

/** Seconds of the container's preStop `sleep N`, 0 without one. */
function preStopSleepSeconds(container: Container): number {
  const command = container.lifecycle?.preStop?.exec?.command ?? [];
  return command[0] === 'sleep' ? Number(command[1] ?? 0) : 0;
}

export const graceOutlastsDrain: ChartRule = {
  name: 'termination-grace',
  description: 'terminationGracePeriodSeconds is longer than the preStop sleep plus the drain deadline (FLUX_SHUTDOWN_TIMEOUT_MS)',
  check: (objects) =>
    workloads(objects).flatMap((workload) =>
      containersOf(workload).flatMap((container) => {
        const drainMs = Number(effectiveEnv(container, objects).get('FLUX_SHUTDOWN_TIMEOUT_MS'));
        if (!Number.isFinite(drainMs)) return [`${workload.name}/${container.name}: no FLUX_SHUTDOWN_TIMEOUT_MS`];
        const grace = workload.pod.terminationGracePeriodSeconds ?? 30;
        const needed = preStopSleepSeconds(container) + drainMs / 1000;
        return grace > needed ? [] : [`${workload.name}: terminationGracePeriodSeconds ${grace} is not longer than preStop + drain (${needed} s)`];
      }),
    ),
};

export const compiledNonRootRuntime: ChartRule = {
  name: 'runtime',
  description: 'node runs dist/ JavaScript (no TypeScript loader), non-root, read-only root filesystem, no writable /tmp',
  check: (objects) =>
    workloads(objects).flatMap((workload) =>
      containersOf(workload).flatMap((container) => {
        const where = `${workload.name}/${container.name}`;
        const problems: string[] = [];
        const commandLine = [...(container.command ?? []), ...(container.args ?? [])].join(' ');
        if (!/\bnode\b[^\n]*\bdist\/[a-z-]+\/main\.js\b/.test(commandLine))
          problems.push(`${where}: does not run node on dist/<app>/main.js: ${commandLine}`);
        if (/\btsx\b|--import|--loader|--experimental-strip-types|\.ts\b/.test(commandLine))
          problems.push(`${where}: runs TypeScript through a loader: ${commandLine}`);
        if (container.securityContext?.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
        if (container.securityContext?.allowPrivilegeEscalation !== false) problems.push(`${where}: allows privilege escalation`);
        if (workload.pod.securityContext?.runAsNonRoot !== true && container.securityContext?.runAsNonRoot !== true)
          problems.push(`${where}: may run as root`);
        for (const mount of container.volumeMounts ?? []) {
          if (mount.mountPath === '/tmp' && mount.readOnly !== true) problems.push(`${where}: mounts a writable /tmp`);
        }
        return problems;
      }),
    ),
};

export const autoscalersOwnTheirScale: ChartRule = {
  name: 'hpa',
  description: 'each HPA (autoscaling/v2) targets a rendered workload that leaves replicas to it; the reducers only with elastic assignment',
  check: (objects) =>
    ofKind(objects, 'HorizontalPodAutoscaler').flatMap((hpa) => {
      const spec = (hpa.spec ?? {}) as { scaleTargetRef?: { kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number };
      const target = workloads(objects).find((workload) => workload.kind === spec.scaleTargetRef?.kind && workload.name === spec.scaleTargetRef.name);
      const problems: string[] = [];
      if (hpa.apiVersion !== 'autoscaling/v2') problems.push(`${describe(hpa)} is ${hpa.apiVersion}, not autoscaling/v2`);
      if (target === undefined)
        problems.push(`${describe(hpa)} targets ${spec.scaleTargetRef?.kind}/${spec.scaleTargetRef?.name}, which is not rendered`);
      else if (target.replicas !== undefined)
        problems.push(`${describe(hpa)}: ${target.name} still sets replicas (${target.replicas}), which every upgrade would reset`);
      const reducer = reducerOf(objects);
      const resizesReducers = reducer !== undefined && spec.scaleTargetRef?.kind === 'StatefulSet' && spec.scaleTargetRef.name === reducer.name;
      if (resizesReducers && assignmentOf(envOf(reducer, objects)) !== 'elastic')
        problems.push(`${describe(hpa)} resizes the reducers, whose static shards own fixed partitions`);
      if ((spec.minReplicas ?? 1) > (spec.maxReplicas ?? 0))
        problems.push(`${describe(hpa)}: minReplicas ${spec.minReplicas} above maxReplicas ${spec.maxReplicas}`);
      return problems;
    }),
};

export const topologySpreadOverOwnPods: ChartRule = {
  name: 'topology-spread',
  description: "topology spread constraints count the workload's own pods",
  check: (objects) =>
    workloads(objects).flatMap((workload) =>
      (workload.pod.topologySpreadConstraints ?? []).flatMap((constraint) => {
        const own = selects(constraint.labelSelector, workload.podLabels);
        const others = workloads(objects).filter((other) => other.name !== workload.name && selects(constraint.labelSelector, other.podLabels));
        return own && others.length === 0 ? [] : [`${workload.name}: spread over ${constraint.topologyKey} does not count exactly its own pods`];
      }),
    ),
};

interface PolicyPort {
  readonly port?: string | number;
}
interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: unknown;
}
interface PolicyRule {
  readonly from?: readonly PolicyPeer[];
  readonly to?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}

export const networkPoliciesConfine: ChartRule = {
  name: 'network-policy',
  description: 'policies select pods; the reducers take gRPC only from the gateways; every egress rule is limited to ports',
  check: (objects) =>
    ofKind(objects, 'NetworkPolicy').flatMap((policy) => {
      const spec = (policy.spec ?? {}) as {
        podSelector?: LabelSelector;
        ingress?: readonly PolicyRule[];
        egress?: readonly PolicyRule[];
        policyTypes?: readonly string[];
      };
      const targets = workloads(objects).filter((workload) => selects(spec.podSelector, workload.podLabels));
      if (targets.length === 0) return [`${describe(policy)} selects no pods`];
      const problems: string[] = [];
      if (!spec.policyTypes?.includes('Egress')) problems.push(`${describe(policy)} leaves egress open`);
      for (const rule of spec.egress ?? []) if (!rule.ports?.length) problems.push(`${describe(policy)} has an egress rule open to every port`);
      for (const rule of spec.ingress ?? []) {
        for (const port of rule.ports ?? []) {
          if (
            port.port !== undefined &&
            !targets.some((target) => containersOf(target).some((container) => containerPort(container, port.port as string | number) !== undefined))
          )
            problems.push(`${describe(policy)} admits port ${port.port}, which its pods do not expose`);
        }
      }
      if (targets.some((target) => componentOf(target) === 'reducer')) {
        const grpcRules = (spec.ingress ?? []).filter((rule) => (rule.ports ?? []).some((port) => port.port === 'grpc') || !rule.ports?.length);
        for (const rule of grpcRules) {
          const peers = rule.from ?? [];
          const onlyGateways =
            peers.length > 0 &&
            peers.every((peer) => {
              if (peer.namespaceSelector !== undefined || peer.ipBlock !== undefined || peer.podSelector === undefined) return false;
              const sources = workloads(objects).filter((workload) => selects(peer.podSelector, workload.podLabels));
              return sources.length > 0 && sources.every((source) => componentOf(source).endsWith('gateway'));
            });
          if (!onlyGateways) problems.push(`${describe(policy)} lets more than the gateways reach the reducers' gRPC port`);
        }
      }
      return problems;
    }),
};

/** True when the rule admits `port` (by number or by the container port's name); no ports: every port. */
const admitsPort = (rule: PolicyRule, port: number, name: string): boolean =>
  !rule.ports?.length || rule.ports.some((candidate) => candidate.port === port || candidate.port === name);

/** True when the peers include pods with `labels` of the policy's namespace; no peers: everyone. */
const peersInclude = (peers: readonly PolicyPeer[] | undefined, labels: Labels): boolean =>
  !peers?.length || peers.some((peer) => peer.namespaceSelector === undefined && peer.podSelector !== undefined && selects(peer.podSelector, labels));

/** The NetworkPolicies that select the workload's pods and restrict `direction`. */
const policiesOn = (objects: readonly K8sObject[], workload: Workload, direction: 'Ingress' | 'Egress'): readonly K8sObject[] =>
  ofKind(objects, 'NetworkPolicy').filter((policy) => {
    const spec = (policy.spec ?? {}) as { podSelector?: LabelSelector; policyTypes?: readonly string[] };
    return spec.policyTypes?.includes(direction) === true && selects(spec.podSelector, workload.podLabels);
  });

export const gatewaysReachReducers: ChartRule = {
  name: 'network-paths',
  description:
    "the NetworkPolicies let every gateway reach the reducer pods' gRPC port by pod selector (so dialing pod IPs from the partition map passes, as the headless DNS names do)",
  check: (objects) => {
    const reducer = reducerOf(objects);
    const grpcPort = reducer?.pod.containers[0] && containerPort(reducer.pod.containers[0], 'grpc');
    if (reducer === undefined || grpcPort === undefined) return [];
    const allows = (policies: readonly K8sObject[], direction: 'ingress' | 'egress', peer: Labels): boolean =>
      policies.length === 0 ||
      policies.some((policy) =>
        ((policy.spec?.[direction] ?? []) as readonly PolicyRule[]).some(
          (rule) => peersInclude(direction === 'ingress' ? rule.from : rule.to, peer) && admitsPort(rule, grpcPort, 'grpc'),
        ),
      );
    return workloads(objects)
      .filter((workload) => componentOf(workload).endsWith('gateway'))
      .flatMap((gateway) => [
        ...(allows(policiesOn(objects, gateway, 'Egress'), 'egress', reducer.podLabels)
          ? []
          : [`${gateway.name}: no egress rule lets it reach the reducer pods on gRPC port ${grpcPort}`]),
        ...(allows(policiesOn(objects, reducer, 'Ingress'), 'ingress', gateway.podLabels)
          ? []
          : [`${reducer.name}: no ingress rule admits ${gateway.name} on the gRPC port`]),
      ]);
  },
};

export const routesReachServices: ChartRule = {
  name: 'routes',
  description: 'Ingress backends and ServiceMonitor endpoints name rendered Services and their ports',
  check: (objects) => {
    const services = ofKind(objects, 'Service');
    const servicePorts = (service: K8sObject): readonly { name?: string; port: number }[] =>
      (service.spec?.ports ?? []) as readonly { name?: string; port: number }[];
    const problems: string[] = [];
    for (const ingress of ofKind(objects, 'Ingress')) {
      const rules = (ingress.spec?.rules ?? []) as readonly {
        http?: { paths: readonly { path: string; backend: { service?: { name: string; port: { name?: string; number?: number } } } }[] };
      }[];
      for (const path of rules.flatMap((rule) => rule.http?.paths ?? [])) {
        const backend = path.backend.service;
        const service = services.find((candidate) => candidate.metadata.name === backend?.name);
        const hasPort =
          service !== undefined && servicePorts(service).some((port) => port.name === backend?.port.name || port.port === backend?.port.number);
        if (!hasPort)
          problems.push(
            `${describe(ingress)} ${path.path} goes to ${backend?.name}:${backend?.port.name ?? backend?.port.number}, which is not rendered`,
          );
      }
    }
    for (const monitor of ofKind(objects, 'ServiceMonitor')) {
      const spec = (monitor.spec ?? {}) as { selector?: LabelSelector; endpoints?: readonly { port?: string }[] };
      const selected = services.filter((service) => selects(spec.selector, service.metadata.labels ?? {}));
      if (selected.length === 0) problems.push(`${describe(monitor)} selects no Service`);
      for (const endpoint of spec.endpoints ?? []) {
        if (!selected.some((service) => servicePorts(service).some((port) => port.name === endpoint.port)))
          problems.push(`${describe(monitor)} scrapes port ${endpoint.port}, which no selected Service has`);
      }
    }
    return problems;
  },
};

/** Every rule, in the order the report lists them. */
export const CHART_RULES: readonly ChartRule[] = [
  probesOnRealEndpoints,
  disruptionBudgetsSelectTheirPods,
  servicesReachTheirPods,
  noInlinedSecrets,
  secretReferencesResolve,
  reducerWiring,
  ingestUrlReachesTheIngestGateway,
  graceOutlastsDrain,
  compiledNonRootRuntime,
  autoscalersOwnTheirScale,
  topologySpreadOverOwnPods,
  networkPoliciesConfine,
  gatewaysReachReducers,
  routesReachServices,
];

export interface RuleResult {
  readonly rule: string;
  readonly problems: readonly string[];
}

export const checkChart = (objects: readonly K8sObject[], rules: readonly ChartRule[] = CHART_RULES): RuleResult[] =>
  rules.map((rule) => ({ rule: rule.name, problems: rule.check(objects) }));
