/**
 * The rendered chart as data: `helm template` output parsed into Kubernetes objects, and the
 * few views of them the assertions share (workloads with their pod templates, env lookups).
 * Only the fields the assertions read are typed; the schema validation covers the rest.
 */
import { parseAllDocuments } from 'yaml';

export type Labels = Readonly<Record<string, string>>;

export interface LabelSelector {
  readonly matchLabels?: Labels;
  readonly matchExpressions?: readonly unknown[];
}

export interface EnvVar {
  readonly name: string;
  readonly value?: string;
  readonly valueFrom?: {
    readonly secretKeyRef?: { readonly name: string; readonly key: string; readonly optional?: boolean };
    readonly configMapKeyRef?: { readonly name: string; readonly key: string };
    readonly fieldRef?: { readonly fieldPath: string };
  };
}

export interface Probe {
  readonly httpGet?: { readonly path?: string; readonly port: string | number };
  readonly grpc?: { readonly port: number };
  readonly exec?: unknown;
  readonly tcpSocket?: unknown;
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly command?: readonly string[];
  readonly args?: readonly string[];
  readonly env?: readonly EnvVar[];
  readonly envFrom?: readonly { readonly configMapRef?: { readonly name: string }; readonly secretRef?: { readonly name: string } }[];
  readonly ports?: readonly { readonly name?: string; readonly containerPort: number }[];
  readonly startupProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly lifecycle?: { readonly preStop?: { readonly exec?: { readonly command?: readonly string[] } } };
  readonly securityContext?: {
    readonly readOnlyRootFilesystem?: boolean;
    readonly allowPrivilegeEscalation?: boolean;
    readonly runAsNonRoot?: boolean;
  };
  readonly volumeMounts?: readonly { readonly name: string; readonly mountPath: string; readonly readOnly?: boolean }[];
}

export interface Volume {
  readonly name: string;
  readonly emptyDir?: unknown;
  readonly secret?: { readonly secretName: string };
}

export interface PodSpec {
  readonly containers: readonly Container[];
  readonly volumes?: readonly Volume[];
  readonly terminationGracePeriodSeconds?: number;
  readonly securityContext?: { readonly runAsNonRoot?: boolean; readonly runAsUser?: number };
  readonly topologySpreadConstraints?: readonly { readonly topologyKey: string; readonly labelSelector?: LabelSelector }[];
}

export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly labels?: Labels };
  // The rest differs per kind; the helpers below narrow it.
  readonly spec?: Record<string, unknown>;
  readonly data?: Readonly<Record<string, string>>;
  readonly stringData?: Readonly<Record<string, string>>;
}

/** A Deployment or StatefulSet, with the parts of its spec the checks read. */
export interface Workload {
  readonly object: K8sObject;
  readonly kind: 'Deployment' | 'StatefulSet';
  readonly name: string;
  readonly replicas: number | undefined;
  readonly selector: LabelSelector;
  readonly serviceName: string | undefined;
  readonly podLabels: Labels;
  readonly pod: PodSpec;
}

/** Parses `helm template` output; empty documents (templates that rendered nothing) are dropped. */
export function parseManifests(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors[0]?.message ?? ''}`);
    const value: unknown = document.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || !('kind' in value) || !('apiVersion' in value))
      throw new Error(`a rendered document is no Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    objects.push(value as K8sObject);
  }
  return objects;
}

export const ofKind = (objects: readonly K8sObject[], kind: string): K8sObject[] => objects.filter((object) => object.kind === kind);

export const describe = (object: K8sObject): string => `${object.kind}/${object.metadata.name}`;

export function workloads(objects: readonly K8sObject[]): Workload[] {
  return objects.flatMap((object): Workload[] => {
    if (object.kind !== 'Deployment' && object.kind !== 'StatefulSet') return [];
    const spec = (object.spec ?? {}) as {
      replicas?: number;
      selector?: LabelSelector;
      serviceName?: string;
      template?: { metadata?: { labels?: Labels }; spec?: PodSpec };
    };
    return [
      {
        object,
        kind: object.kind,
        name: object.metadata.name,
        replicas: spec.replicas,
        selector: spec.selector ?? {},
        serviceName: spec.serviceName,
        podLabels: spec.template?.metadata?.labels ?? {},
        pod: spec.template?.spec ?? { containers: [] },
      },
    ];
  });
}

/** True when every label of `matchLabels` (at least one) is on `labels`. */
export function matches(matchLabels: Labels | undefined, labels: Labels): boolean {
  const entries = Object.entries(matchLabels ?? {});
  return entries.length > 0 && entries.every(([key, value]) => labels[key] === value);
}

/** A LabelSelector's verdict; the chart uses matchLabels only, so expressions never match here. */
export const selects = (selector: LabelSelector | undefined, labels: Labels): boolean =>
  selector !== undefined && (selector.matchExpressions?.length ?? 0) === 0 && matches(selector.matchLabels, labels);

/** The workload's component label (app.kubernetes.io/component), or its name. */
export const componentOf = (workload: Workload): string => workload.podLabels['app.kubernetes.io/component'] ?? workload.name;

/** How an env entry that is not a literal reads: `<secret name/key>`, `<field path>` (downward API). */
function referenceMarker(variable: EnvVar): string {
  const secret = variable.valueFrom?.secretKeyRef;
  if (secret) return `<secret ${secret.name}/${secret.key}>`;
  const field = variable.valueFrom?.fieldRef;
  if (field) return `<field ${field.fieldPath}>`;
  return '<reference>';
}

/**
 * A container's environment as a process sees it: ConfigMaps of envFrom first, then env
 * (literal values; references as `<secret name/key>` or `<field path>` markers).
 */
export function effectiveEnv(container: Container, objects: readonly K8sObject[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const configMap =
      source.configMapRef && objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === source.configMapRef?.name);
    for (const [key, value] of Object.entries(configMap?.data ?? {})) env.set(key, value);
  }
  for (const variable of container.env ?? []) env.set(variable.name, variable.value ?? referenceMarker(variable));
  return env;
}

export const containerPort = (container: Container, port: string | number): number | undefined =>
  typeof port === 'number'
    ? container.ports?.find((candidate) => candidate.containerPort === port)?.containerPort
    : container.ports?.find((candidate) => candidate.name === port)?.containerPort;
