/**
 * The chart rules on a small hand-written rendering: it satisfies every rule, and each
 * deliberate fault is reported by the rule that guards against it (and the message names it).
 */
import { describe, expect, it } from 'vitest';
import { CHART_RULES, checkChart, type ChartRule } from '../lib/chart-assertions.js';
import { parseManifests, type K8sObject } from '../lib/manifests.js';
import { validateAgainstSchemas } from '../lib/schema-validation.js';

const labels = (component: string): string =>
  `{app.kubernetes.io/name: flux, app.kubernetes.io/instance: r, app.kubernetes.io/component: ${component}}`;

const probes = (port: string): string => `
          startupProbe: {httpGet: {path: /health, port: ${port}}}
          readinessProbe: {httpGet: {path: /ready, port: ${port}}}
          livenessProbe: {httpGet: {path: /health, port: ${port}}}
          securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}`;

const gateway = (component: string, extraEnv: string): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: r-${component}, labels: ${labels(component)}}
spec:
  selector: {matchLabels: ${labels(component)}}
  template:
    metadata: {labels: ${labels(component)}}
    spec:
      terminationGracePeriodSeconds: 30
      securityContext: {runAsNonRoot: true}
      topologySpreadConstraints:
        - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: ${labels(component)}}}
      containers:
        - name: ${component}
          image: flux:0.1.0
          command: [node, --enable-source-maps, dist/${component}/main.js]
          envFrom: [{configMapRef: {name: r-config}}]
          env:
            - {name: FLUX_SHARD_ADDRESSES, value: "r-reducer-0.r-reducer-headless.ns.svc.cluster.local:50051,r-reducer-1.r-reducer-headless.ns.svc.cluster.local:50051"}
            - {name: FLUX_ADMIN_TOKEN, valueFrom: {secretKeyRef: {name: r-secrets, key: FLUX_ADMIN_TOKEN}}}${extraEnv}
          ports: [{name: http, containerPort: 3000}]
          lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}${probes('http')}
---
apiVersion: v1
kind: Service
metadata: {name: r-${component}, labels: ${labels(component)}}
spec:
  selector: ${labels(component)}
  ports: [{name: http, port: 3000, targetPort: http}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: r-${component}}
spec: {maxUnavailable: 1, selector: {matchLabels: ${labels(component)}}}
`;

const RENDERING = `
apiVersion: v1
kind: ConfigMap
metadata: {name: r-config}
data: {FLUX_PARTITIONS: "12", FLUX_SHUTDOWN_TIMEOUT_MS: "20000", REDIS_URL: "redis://redis:6379"}
---
apiVersion: v1
kind: Secret
metadata: {name: r-secrets}
data: {FLUX_ADMIN_TOKEN: dG9rZW4=}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: r-reducer, labels: ${labels('reducer')}}
spec:
  serviceName: r-reducer-headless
  replicas: 2
  selector: {matchLabels: ${labels('reducer')}}
  template:
    metadata: {labels: ${labels('reducer')}}
    spec:
      terminationGracePeriodSeconds: 60
      securityContext: {runAsNonRoot: true}
      containers:
        - name: reducer
          image: flux:0.1.0
          command: [/bin/sh, -c, "exec node --enable-source-maps dist/reducer/main.js"]
          envFrom: [{configMapRef: {name: r-config}}]
          env:
            - {name: SHARD_COUNT, value: "2"}
            - {name: GRPC_PORT, value: "50051"}
          ports: [{name: grpc, containerPort: 50051}, {name: metrics, containerPort: 9464}]${probes('metrics')}
---
apiVersion: v1
kind: Service
metadata: {name: r-reducer-headless, labels: ${labels('reducer')}}
spec:
  clusterIP: None
  selector: ${labels('reducer')}
  ports: [{name: grpc, port: 50051, targetPort: grpc}, {name: metrics, port: 9464, targetPort: metrics}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: r-reducer}
spec: {maxUnavailable: 1, selector: {matchLabels: ${labels('reducer')}}}
---
${gateway('ingest-gateway', '')}
---
${gateway('query-gateway', '\n            - {name: FLUX_INGEST_URL, value: "http://r-ingest-gateway.ns.svc.cluster.local:3000"}')}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: r-query-gateway}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: r-query-gateway}
  minReplicas: 2
  maxReplicas: 6
  metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: r-reducer}
spec:
  podSelector: {matchLabels: ${labels('reducer')}}
  policyTypes: [Ingress, Egress]
  ingress:
    - from: [{podSelector: {matchLabels: ${labels('ingest-gateway')}}}, {podSelector: {matchLabels: ${labels('query-gateway')}}}]
      ports: [{port: grpc, protocol: TCP}]
  egress:
    - ports: [{port: 9092, protocol: TCP}]
    - ports: [{port: 6379, protocol: TCP}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: r}
spec:
  rules:
    - http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: r-query-gateway, port: {name: http}}}}
`;

type Mutable = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A fresh copy of the rendering, with `change` applied to the (mutable) object `kind/name`. */
function renderingWith(kind: string, name: string, change: (object: Mutable) => void): K8sObject[] {
  const objects = parseManifests(RENDERING);
  const target = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (target === undefined) throw new Error(`no ${kind}/${name} in the fixture`);
  change(target as unknown as Mutable);
  return objects;
}

const podSpec = (object: Mutable): Mutable => object.spec.template.spec;
const firstContainer = (object: Mutable): Mutable => podSpec(object).containers[0];

function problemsOf(rule: ChartRule, objects: readonly K8sObject[]): string[] {
  return rule.check(objects);
}

const ruleNamed = (name: string): ChartRule => {
  const found = CHART_RULES.find((rule) => rule.name === name);
  if (found === undefined) throw new Error(`no rule ${name}`);
  return found;
};

describe('the chart rules', () => {
  it('hold for a correct rendering, which the Kubernetes schemas accept', async () => {
    const objects = parseManifests(RENDERING);
    expect(checkChart(objects).filter((result) => result.problems.length > 0)).toEqual([]);
    expect(await validateAgainstSchemas(objects)).toEqual([]);
  });

  it.each<[string, string, string, (object: Mutable) => void, RegExp]>([
    [
      'probes',
      'Deployment',
      'r-query-gateway',
      (o) => (firstContainer(o).readinessProbe.httpGet.path = '/healthz'),
      /readiness probe GETs \/healthz/,
    ],
    [
      'probes',
      'StatefulSet',
      'r-reducer',
      (o) => (firstContainer(o).livenessProbe.httpGet.port = 'http'),
      /liveness probe port http is none of the container's ports/,
    ],
    ['probes', 'Deployment', 'r-ingest-gateway', (o) => delete firstContainer(o).startupProbe, /no startup probe/],
    [
      'pdb-selectors',
      'PodDisruptionBudget',
      'r-reducer',
      (o) => (o.spec.selector.matchLabels['app.kubernetes.io/component'] = 'reducers'),
      /selects the pods of 0 workloads/,
    ],
    [
      'pdb-selectors',
      'PodDisruptionBudget',
      'r-reducer',
      (o) => delete o.spec.selector.matchLabels['app.kubernetes.io/component'],
      /selects the pods of 3 workloads/,
    ],
    ['service-selectors', 'Service', 'r-reducer-headless', (o) => (o.spec.ports[0].targetPort = 'gprc'), /targets gprc/],
    [
      'no-inline-secret',
      'Deployment',
      'r-query-gateway',
      (o) => (firstContainer(o).env[1] = { name: 'FLUX_ADMIN_TOKEN', value: 's3cret' }),
      /FLUX_ADMIN_TOKEN is inlined/,
    ],
    ['no-inline-secret', 'ConfigMap', 'r-config', (o) => (o.data.REDIS_URL = 'redis://:pw@redis:6379'), /REDIS_URL is a URL with a password/],
    ['no-inline-secret', 'ConfigMap', 'r-config', (o) => (o.data.FLUX_ENCRYPTION_KEY = 'abc'), /holds FLUX_ENCRYPTION_KEY, a secret/],
    ['secret-refs', 'Secret', 'r-secrets', (o) => (o.data = {}), /reads key FLUX_ADMIN_TOKEN, which Secret\/r-secrets lacks/],
    ['reducer-wiring', 'StatefulSet', 'r-reducer', (o) => (o.spec.replicas = 3), /SHARD_COUNT is 2, its StatefulSet has 3 replicas/],
    [
      'reducer-wiring',
      'Deployment',
      'r-ingest-gateway',
      (o) =>
        (firstContainer(o).env[0].value =
          'r-reducer-1.r-reducer-headless.ns.svc.cluster.local:50051,r-reducer-0.r-reducer-headless.ns.svc.cluster.local:50051'),
      /shard 0 is at r-reducer-1/,
    ],
    ['reducer-wiring', 'Service', 'r-reducer-headless', (o) => delete o.spec.clusterIP, /is not headless/],
    [
      'reducer-wiring',
      'Deployment',
      'r-query-gateway',
      (o) => firstContainer(o).env.push({ name: 'FLUX_REDUCER_ASSIGNMENT', value: 'elastic' }),
      /r-query-gateway: FLUX_REDUCER_ASSIGNMENT is elastic, the reducers' is static/,
    ],
    [
      'hpa',
      'HorizontalPodAutoscaler',
      'r-query-gateway',
      (o) => (o.spec.scaleTargetRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'r-reducer' }),
      /resizes the reducers, whose static shards own fixed partitions/,
    ],
    [
      'ingest-url',
      'Deployment',
      'r-query-gateway',
      (o) => (firstContainer(o).env[2].value = 'http://r-ingest-gateway.ns.svc.cluster.local:80'),
      /is no port of a Service of the ingest gateway/,
    ],
    [
      'termination-grace',
      'Deployment',
      'r-query-gateway',
      (o) => (podSpec(o).terminationGracePeriodSeconds = 25),
      /25 is not longer than preStop \+ drain \(25 s\)/,
    ],
    [
      'runtime',
      'Deployment',
      'r-ingest-gateway',
      (o) => (firstContainer(o).command = ['node', '--import', 'tsx', 'apps/ingest-gateway/src/main.ts']),
      /runs TypeScript through a loader/,
    ],
    ['runtime', 'StatefulSet', 'r-reducer', (o) => (firstContainer(o).securityContext.readOnlyRootFilesystem = false), /root filesystem is writable/],
    [
      'runtime',
      'StatefulSet',
      'r-reducer',
      (o) => (firstContainer(o).volumeMounts = [{ name: 'tmp', mountPath: '/tmp' }]),
      /mounts a writable \/tmp/,
    ],
    ['hpa', 'Deployment', 'r-query-gateway', (o) => (o.spec.replicas = 2), /still sets replicas \(2\)/],
    [
      'hpa',
      'HorizontalPodAutoscaler',
      'r-query-gateway',
      (o) => (o.spec.scaleTargetRef.name = 'r-query'),
      /targets Deployment\/r-query, which is not rendered/,
    ],
    [
      'topology-spread',
      'Deployment',
      'r-query-gateway',
      (o) => delete podSpec(o).topologySpreadConstraints[0].labelSelector.matchLabels['app.kubernetes.io/component'],
      /does not count exactly its own pods/,
    ],
    [
      'network-policy',
      'NetworkPolicy',
      'r-reducer',
      (o) => o.spec.ingress[0].from.push({ namespaceSelector: {} }),
      /lets more than the gateways reach the reducers' gRPC port/,
    ],
    [
      'network-policy',
      'NetworkPolicy',
      'r-reducer',
      (o) => o.spec.egress.push({ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }),
      /egress rule open to every port/,
    ],
    [
      'network-paths',
      'NetworkPolicy',
      'r-reducer',
      (o) => (o.spec.ingress[0].ports[0].port = 'metrics'),
      /r-reducer: no ingress rule admits r-ingest-gateway on the gRPC port/,
    ],
    [
      'network-paths',
      'NetworkPolicy',
      'r-reducer',
      (o) => (o.spec.ingress[0].from = [{ ipBlock: { cidr: '10.0.0.0/8' } }]),
      /no ingress rule admits r-query-gateway/,
    ],
    [
      'routes',
      'Ingress',
      'r',
      (o) => (o.spec.rules[0].http.paths[0].backend.service.port.name = 'web'),
      /goes to r-query-gateway:web, which is not rendered/,
    ],
  ])('%s reports a fault in %s/%s', (rule, kind, name, change, message) => {
    const problems = problemsOf(ruleNamed(rule), renderingWith(kind, name, change));
    expect(problems.join('\n')).toMatch(message);
  });

  it("network-paths asks the gateways' own egress policies for the reducers' gRPC port", () => {
    const objects = renderingWith('NetworkPolicy', 'r-reducer', () => {});
    const egressOnly = (ports: readonly unknown[]): K8sObject =>
      parseManifests(`
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: r-query-gateway}
spec:
  podSelector: {matchLabels: ${labels('query-gateway')}}
  policyTypes: [Egress]
  egress:
    - to: [{podSelector: {matchLabels: ${labels('reducer')}}}]
      ports: ${JSON.stringify(ports)}
`)[0]!;
    expect(problemsOf(ruleNamed('network-paths'), [...objects, egressOnly([{ port: 50051, protocol: 'TCP' }])])).toEqual([]);
    expect(problemsOf(ruleNamed('network-paths'), [...objects, egressOnly([{ port: 6379, protocol: 'TCP' }])])).toEqual([
      'r-query-gateway: no egress rule lets it reach the reducer pods on gRPC port 50051',
    ]);
  });

  it('the schemas refuse a malformed object', async () => {
    const objects = renderingWith('StatefulSet', 'r-reducer', (o) => (o.spec.replicas = 'two'));
    expect((await validateAgainstSchemas(objects)).join('\n')).toMatch(/StatefulSet\/r-reducer: .*replicas must be integer/);
  });

  it('the schemas refuse a kind they do not know', async () => {
    const objects = parseManifests('apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n');
    expect(await validateAgainstSchemas(objects)).toEqual(['Widget/w: no schema for example.com/v1 Widget']);
  });
});

const objectNamed = (objects: readonly Mutable[], kind: string, name: string): Mutable => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind}/${name} in the fixture`);
  return found;
};

/** The fixture with elastic reducers: every role told so, reducers known by pod name and IP, no shard list. */
function elasticRendering(change: (objects: Mutable[]) => void = () => {}): K8sObject[] {
  const objects = parseManifests(RENDERING) as unknown as Mutable[];
  const named = (kind: string, name: string): Mutable => objectNamed(objects, kind, name);
  named('ConfigMap', 'r-config').data.FLUX_REDUCER_ASSIGNMENT = 'elastic';
  firstContainer(named('StatefulSet', 'r-reducer')).env = [
    { name: 'FLUX_REDUCER_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'FLUX_ADVERTISED_HOST', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'FLUX_REDUCER_LEASE_MS', value: '6000' },
    { name: 'GRPC_PORT', value: '50051' },
  ];
  for (const gateway of ['r-ingest-gateway', 'r-query-gateway']) {
    const container = firstContainer(named('Deployment', gateway));
    container.env = container.env.filter((variable: Mutable) => variable.name !== 'FLUX_SHARD_ADDRESSES');
  }
  change(objects);
  return objects as unknown as K8sObject[];
}

describe('the chart rules with elastic reducers', () => {
  it('hold for a correct rendering, HPA on the reducers included, which the Kubernetes schemas accept', async () => {
    const objects = elasticRendering((all) => {
      const hpa = objectNamed(all, 'HorizontalPodAutoscaler', 'r-query-gateway');
      hpa.metadata.name = 'r-reducer';
      hpa.spec.scaleTargetRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'r-reducer' };
      delete objectNamed(all, 'StatefulSet', 'r-reducer').spec.replicas;
    });
    expect(checkChart(objects).filter((result) => result.problems.length > 0)).toEqual([]);
    expect(await validateAgainstSchemas(objects)).toEqual([]);
  });

  it.each<[string, (objects: Mutable[]) => void, RegExp]>([
    [
      'a gateway given the shard list',
      (all) =>
        firstContainer(objectNamed(all, 'Deployment', 'r-ingest-gateway')).env.push({ name: 'FLUX_SHARD_ADDRESSES', value: 'r-reducer-0:50051' }),
      /r-ingest-gateway: sets FLUX_SHARD_ADDRESSES, but elastic gateways route by the partition map/,
    ],
    [
      'the advertised host from the node',
      (all) => (firstContainer(objectNamed(all, 'StatefulSet', 'r-reducer')).env[1].valueFrom.fieldRef.fieldPath = 'status.hostIP'),
      /reducer FLUX_ADVERTISED_HOST is <field status.hostIP>, not the pod's status.podIP/,
    ],
    [
      'a fixed reducer id',
      (all) => (firstContainer(objectNamed(all, 'StatefulSet', 'r-reducer')).env[0] = { name: 'FLUX_REDUCER_ID', value: 'reducer' }),
      /reducer FLUX_REDUCER_ID is reducer, not the pod's metadata.name/,
    ],
    [
      'a shard index left over',
      (all) => firstContainer(objectNamed(all, 'StatefulSet', 'r-reducer')).env.push({ name: 'SHARD_COUNT', value: '2' }),
      /reducer sets SHARD_COUNT, which elastic reducers do not read/,
    ],
    [
      'a lease out of range',
      (all) => (firstContainer(objectNamed(all, 'StatefulSet', 'r-reducer')).env[2].value = '100'),
      /FLUX_REDUCER_LEASE_MS is 100, not 1000-300000/,
    ],
    [
      'a gateway left static',
      (all) => firstContainer(objectNamed(all, 'Deployment', 'r-query-gateway')).env.push({ name: 'FLUX_REDUCER_ASSIGNMENT', value: 'static' }),
      /r-query-gateway: FLUX_REDUCER_ASSIGNMENT is static, the reducers' is elastic/,
    ],
    [
      'a PDB that blocks every drain',
      (all) => (objectNamed(all, 'PodDisruptionBudget', 'r-reducer').spec.maxUnavailable = 0),
      /PodDisruptionBudget\/r-reducer allows no voluntary disruption/,
    ],
  ])('reducer-wiring reports %s', (_fault, change, message) => {
    expect(problemsOf(ruleNamed('reducer-wiring'), elasticRendering(change)).join('\n')).toMatch(message);
  });
});
