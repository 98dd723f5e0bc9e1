/**
 * Validates rendered objects against the Kubernetes OpenAPI schemas, offline: the validators
 * that `kubernetes-models` generates from the API's OpenAPI document (and its Prometheus
 * Operator sibling for ServiceMonitor). Types, required fields, enums and formats are checked;
 * unknown fields are not (those schemas allow them), so typos of optional fields are left to the
 * assertions that read them.
 */
import type { K8sObject } from './manifests.js';

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** The module of each apiVersion's models; core (v1) objects live under `v1/`. */
function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  return `kubernetes-models/${apiVersion}/${kind}`;
}

async function modelOf(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  try {
    const module = (await import(modelModule(apiVersion, kind))) as Record<string, ModelClass | undefined>;
    return module[kind];
  } catch {
    return undefined;
  }
}

/** One message per object that has no schema or does not satisfy it. */
export async function validateAgainstSchemas(objects: readonly K8sObject[]): Promise<string[]> {
  const problems: string[] = [];
  for (const object of objects) {
    const Model = await modelOf(object.apiVersion, object.kind);
    if (Model === undefined) {
      problems.push(`${object.kind}/${object.metadata.name}: no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${object.kind}/${object.metadata.name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return problems;
}
