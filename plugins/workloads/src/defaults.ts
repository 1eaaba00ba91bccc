/**
 * What a service gets when its team says nothing: sizes by kind, from how each kind behaves
 * (the store and the social network carry the most traffic and sessions; warehouse and
 * logistics are regional back offices with a slow JVM-style start).
 */
import type { Service } from '@topoforge/model';

export interface Resources {
  readonly cpu: string;
  readonly memory: string;
}

export interface WorkloadDefaults {
  readonly replicas: { readonly min: number; readonly max: number };
  readonly cpuUtilization: number;
  readonly requests: Resources;
  readonly limits: Resources;
  readonly startupSeconds: number;
}

const KIND_DEFAULTS: Readonly<Record<string, WorkloadDefaults>> = {
  'social-network': {
    replicas: { min: 3, max: 20 },
    cpuUtilization: 70,
    requests: { cpu: '500m', memory: '512Mi' },
    limits: { cpu: '2', memory: '1Gi' },
    startupSeconds: 60,
  },
  telemetry: {
    replicas: { min: 2, max: 10 },
    cpuUtilization: 75,
    requests: { cpu: '250m', memory: '256Mi' },
    limits: { cpu: '1', memory: '512Mi' },
    startupSeconds: 30,
  },
  'online-store': {
    replicas: { min: 3, max: 20 },
    cpuUtilization: 70,
    requests: { cpu: '500m', memory: '512Mi' },
    limits: { cpu: '2', memory: '1Gi' },
    startupSeconds: 60,
  },
  'front-application': {
    replicas: { min: 2, max: 10 },
    cpuUtilization: 75,
    requests: { cpu: '100m', memory: '128Mi' },
    limits: { cpu: '500m', memory: '256Mi' },
    startupSeconds: 30,
  },
  warehouse: {
    replicas: { min: 2, max: 4 },
    cpuUtilization: 80,
    requests: { cpu: '250m', memory: '512Mi' },
    limits: { cpu: '1', memory: '1Gi' },
    startupSeconds: 120,
  },
  logistics: {
    replicas: { min: 2, max: 4 },
    cpuUtilization: 80,
    requests: { cpu: '250m', memory: '512Mi' },
    limits: { cpu: '1', memory: '1Gi' },
    startupSeconds: 120,
  },
};

/** Kinds a topology defines itself (`serviceKinds`) get the middle of the range. */
const OTHER_KIND: WorkloadDefaults = {
  replicas: { min: 2, max: 6 },
  cpuUtilization: 75,
  requests: { cpu: '250m', memory: '256Mi' },
  limits: { cpu: '1', memory: '512Mi' },
  startupSeconds: 60,
};

export const defaultsFor = (s: Service): WorkloadDefaults => KIND_DEFAULTS[s.kind] ?? OTHER_KIND;

/** The workload as it will be emitted: the team's values over the kind's defaults. */
export interface ResolvedWorkload {
  readonly replicas: { readonly min: number; readonly max: number };
  readonly cpuUtilization: number;
  readonly requests: Resources;
  readonly limits: Resources;
  readonly probes: { readonly liveness: string; readonly readiness: string; readonly startupSeconds: number };
  readonly envFrom: readonly string[];
  /** Ingress host; undefined when the service is not exposed. */
  readonly host?: string;
}

export interface ResolveOptions {
  readonly domain: string;
  readonly livenessPath: string;
  readonly readinessPath: string;
}

/** The ConfigMap plugins/session-cache writes into the namespace of each service with a sessionCache policy. */
export const SESSION_CACHE_CONFIGMAP = 'session-cache';

export function resolveWorkload(s: Service, o: ResolveOptions): ResolvedWorkload {
  const d = defaultsFor(s);
  const w = s.workload ?? {};
  const envFrom = [
    ...(s.policies.sessionCache ? [SESSION_CACHE_CONFIGMAP] : []),
    ...(w.envFrom ?? []).filter((c) => c !== SESSION_CACHE_CONFIGMAP || !s.policies.sessionCache),
  ];
  // Client-facing services are reached from outside (and k8gb fails over their Ingress); others only when a host is given.
  const host = w.host ?? (s.tier === 'client-facing' ? `${s.name}.${o.domain}` : undefined);
  return {
    replicas: w.replicas ?? d.replicas,
    cpuUtilization: w.cpuUtilization ?? d.cpuUtilization,
    requests: { ...d.requests, ...(w.resources?.requests ?? {}) },
    limits: { ...d.limits, ...(w.resources?.limits ?? {}) },
    probes: {
      liveness: w.probes?.liveness ?? o.livenessPath,
      readiness: w.probes?.readiness ?? o.readinessPath,
      startupSeconds: w.probes?.startupSeconds ?? d.startupSeconds,
    },
    envFrom,
    ...(host ? { host } : {}),
  };
}

const UNITS: Readonly<Record<string, number>> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

/** A quantity as a number (the model's schema already restricts the syntax). */
export function quantity(q: string): number {
  const m = /^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  if (!m) return Number.NaN;
  return Number(m[1]) * UNITS[m[2] ?? '']!;
}
