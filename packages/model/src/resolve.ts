/**
 * Resolution: the rules of the platform applied to validated input, producing the
 * derived model that plugins read. All violations are collected, not just the first.
 */
import { fail, ok, type Diagnostic, type DiagnosticCode, type Result } from './diagnostics.js';
import { isDnsLabel, isKubernetesNamespace } from './names.js';
import { byName } from './compare.js';
import { escapePointer, locate, type SourceMap } from './source.js';
import { BUILTIN_SERVICE_KINDS, type TopologyInput } from './schema.js';
import { suggest } from './validate-schema.js';
import type { DataCenter, Policy, Environment, PluginUse, Region, RecoveryTier, Service, Stage, Tier } from './model.js';

interface KindInfo {
  readonly tier: Tier;
  readonly businessUnit?: string;
  readonly recoveryPriority: number;
}

/** The platform's built-in kinds and their recovery priorities (1 recovers first). */
export const BUILTIN_KINDS: Readonly<Record<(typeof BUILTIN_SERVICE_KINDS)[number], KindInfo>> = {
  'social-network': { tier: 'client-facing', recoveryPriority: 1 },
  telemetry: { tier: 'client-facing', recoveryPriority: 2 },
  'online-store': { tier: 'client-facing', recoveryPriority: 3 },
  // Front applications are the store's and the social network's faces; they recover
  // with the store (the platform's list names no separate rank for them).
  'front-application': { tier: 'client-facing', recoveryPriority: 3 },
  warehouse: { tier: 'regional', businessUnit: 'warehouses', recoveryPriority: 4 },
  logistics: { tier: 'regional', businessUnit: 'couriers', recoveryPriority: 4 },
};

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function resolveEnvironment(input: TopologyInput, locations: SourceMap, file: string, files: readonly string[]): Result<Environment> {
  const ds: Diagnostic[] = [];
  const report = (code: DiagnosticCode, pointer: string, message: string, hint?: string, which: 'key' | 'value' = 'value'): void => {
    const position = locate(locations, pointer, which);
    ds.push({
      code,
      message,
      field: pointer
        .split('/')
        .slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .join('.'),
      ...(position ? { position } : {}),
      ...(hint ? { hint } : {}),
    });
  };
  const checkName = (name: string, pointer: string, what: string): void => {
    if (!isDnsLabel(name)) {
      report(
        'TOPOLOGY_INVALID_NAME',
        pointer,
        `${what} name "${name}" is not a DNS-1123 label`,
        'use lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters',
        'key',
      );
    }
  };
  const unknownRef = (pointer: string, what: string, value: string, known: readonly string[]): void => {
    const guess = suggest(value, known);
    report(
      'TOPOLOGY_UNKNOWN_REFERENCE',
      pointer,
      `unknown ${what} "${value}"`,
      guess ? `did you mean "${guess}"?` : known.length ? `known: ${known.join(', ')}` : `define a ${what} first`,
    );
  };

  if (input.kind !== 'Environment')
    report('TOPOLOGY_INVALID_VALUE', '/kind', 'an environment file needs "kind: Environment"', 'bases are only read through extends');
  if (!input.name) report('TOPOLOGY_MISSING_FIELD', '', 'missing required field "name"', 'the environment name, e.g. production');
  else checkName(input.name, '/name', 'environment');
  if (!input.stage) report('TOPOLOGY_MISSING_FIELD', '', 'missing required field "stage"', 'staging (the test stand) or production');
  const stage: Stage = input.stage ?? 'production';
  if (input.testStand !== undefined && stage !== 'production')
    report(
      'TOPOLOGY_INVALID_VALUE',
      '/testStand',
      `testStand is for production environments; "${input.name ?? ''}" is the test stand itself`,
      'remove testStand here and set it on production',
    );

  // Regions
  const regionsIn = input.regions ?? {};
  if (Object.keys(regionsIn).length === 0)
    report('TOPOLOGY_MISSING_FIELD', '', 'an environment needs at least one region', 'add regions: {<name>: {timeZone, businessUnits}}');
  for (const [name, r] of Object.entries(regionsIn)) {
    const p = `/regions/${escapePointer(name)}`;
    checkName(name, p, 'region');
    if (!validTimeZone(r.timeZone))
      report(
        'TOPOLOGY_UNKNOWN_TIME_ZONE',
        `${p}/timeZone`,
        `unknown time zone "${r.timeZone}"`,
        'use an IANA time zone such as Europe/Berlin or America/New_York',
      );
    r.businessUnits.forEach((u, i) => checkName(u, `${p}/businessUnits/${i}`, 'business unit'));
  }

  // Data centres
  const dcsIn = input.dataCenters ?? {};
  const dcNames = Object.keys(dcsIn);
  if (dcNames.length === 0)
    report(
      'TOPOLOGY_MISSING_FIELD',
      '',
      'an environment needs at least one data centre',
      'add dataCenters: {<name>: {region, rotation, cluster, backupStorage}}',
    );
  const rotations = new Map<number, string>();
  for (const [name, dc] of Object.entries(dcsIn)) {
    const p = `/dataCenters/${escapePointer(name)}`;
    checkName(name, p, 'data centre');
    if (!Object.hasOwn(regionsIn, dc.region)) unknownRef(`${p}/region`, 'region', dc.region, Object.keys(regionsIn));
    const prev = rotations.get(dc.rotation);
    if (prev !== undefined)
      report(
        'TOPOLOGY_ROTATION_INVALID',
        `${p}/rotation`,
        `rotation position ${dc.rotation} is already taken by ${prev}`,
        'each DC has its own position 1..N in the backup rotation',
      );
    else rotations.set(dc.rotation, name);
  }
  if (dcNames.length > 0 && rotations.size === dcNames.length) {
    for (let i = 1; i <= dcNames.length; i++) {
      if (!rotations.has(i)) {
        const offender = [...rotations.entries()].find(([pos]) => pos > dcNames.length);
        report(
          'TOPOLOGY_ROTATION_INVALID',
          offender ? `/dataCenters/${escapePointer(offender[1])}/rotation` : '/dataCenters',
          `backup rotation has a gap: no DC at position ${i} of ${dcNames.length}`,
          'positions must be 1..N without gaps so that day d goes to DC ((d-1) mod N)+1',
        );
        break;
      }
    }
  }

  // Service kinds
  const kinds = new Map<string, KindInfo>(Object.entries(BUILTIN_KINDS));
  for (const [name, k] of Object.entries(input.serviceKinds ?? {})) {
    const p = `/serviceKinds/${escapePointer(name)}`;
    checkName(name, p, 'service kind');
    if (Object.hasOwn(BUILTIN_KINDS, name)) {
      report('TOPOLOGY_INVALID_VALUE', p, `service kind "${name}" is built in and cannot be redefined`, 'choose another name for your kind', 'key');
      continue;
    }
    if (k.tier === 'regional' && !k.businessUnit)
      report('TOPOLOGY_MISSING_FIELD', p, `regional kind "${name}" needs a businessUnit`, 'the business unit a region must have, e.g. warehouses');
    if (k.tier === 'client-facing' && k.businessUnit)
      report(
        'TOPOLOGY_INVALID_VALUE',
        `${p}/businessUnit`,
        `client-facing kind "${name}" cannot have a businessUnit`,
        'client-facing services run in any DC; remove businessUnit or make the kind regional',
      );
    kinds.set(name, { tier: k.tier, recoveryPriority: k.recoveryPriority, ...(k.businessUnit ? { businessUnit: k.businessUnit } : {}) });
  }

  // Policies
  const pol = input.policies ?? {};
  for (const [group, entries] of Object.entries(pol)) {
    for (const name of Object.keys(entries ?? {})) checkName(name, `/policies/${group}/${escapePointer(name)}`, `${group} policy`);
  }

  // Services
  const services: Service[] = [];
  // Every group alike: the model resolves names; the plugin owning a group checks shapes.
  const policyLists: Record<string, Policy[]> = { sessionCache: [] };
  for (const [group, entries] of Object.entries(pol))
    policyLists[group] = Object.entries((entries ?? {}) as Record<string, object>).map(([name, v]) => ({ name, ...v }));
  for (const [name, s] of Object.entries(input.services ?? {})) {
    const p = `/services/${escapePointer(name)}`;
    checkName(name, p, 'service');
    const kind = kinds.get(s.kind);
    if (!kind) {
      unknownRef(`${p}/kind`, 'service kind', s.kind, [...kinds.keys()]);
      continue;
    }
    if (s.namespace !== undefined && !isDnsLabel(s.namespace))
      report('TOPOLOGY_INVALID_NAME', `${p}/namespace`, `namespace "${s.namespace}" is not a DNS-1123 label`, 'use lower-case letters, digits and "-"');
    const policies: Record<string, unknown> = {};
    for (const [group, ref] of Object.entries((s.policies ?? {}) as Record<string, string>)) {
      const list = policyLists[group];
      if (!list) {
        const guess = suggest(group, Object.keys(policyLists));
        report(
          'TOPOLOGY_UNKNOWN_REFERENCE',
          `${p}/policies/${escapePointer(group)}`,
          `no policies of group "${group}" are defined`,
          guess ? `did you mean "${guess}"?` : `define policies.${group}.${ref} first`,
          'key',
        );
        continue;
      }
      const found = list.find((x) => x.name === ref);
      if (!found)
        unknownRef(
          `${p}/policies/${escapePointer(group)}`,
          `${group} policy`,
          ref,
          list.map((x) => x.name),
        );
      else policies[group] = found;
    }
    const rollout = s.rollout ?? 'rolling';
    // A canary rollout needs a canary policy: plugins/flagger checks it (the canary group is flagger's).
    // Placement
    let placed: string[];
    if (kind.tier === 'client-facing') {
      placed = s.placement ? [...s.placement.dataCenters] : [...dcNames];
    } else {
      const eligible = dcNames.filter(
        (d) => Object.hasOwn(regionsIn, dcsIn[d]!.region) && regionsIn[dcsIn[d]!.region]!.businessUnits.includes(kind.businessUnit!),
      );
      placed = eligible;
      if (s.placement) {
        placed = [];
        s.placement.dataCenters.forEach((d, i) => {
          if (!Object.hasOwn(dcsIn, d)) return;
          if (!eligible.includes(d)) {
            report(
              'TOPOLOGY_PLACEMENT_INVALID',
              `${p}/placement/dataCenters/${i}`,
              `${s.kind} service "${name}" cannot run in ${d}: region ${dcsIn[d]!.region} has no ${kind.businessUnit}`,
              `regional services run only where their business unit exists; eligible: ${eligible.join(', ') || 'none'}`,
            );
          } else placed.push(d);
        });
      }
      if (eligible.length === 0)
        report(
          'TOPOLOGY_PLACEMENT_INVALID',
          p,
          `${s.kind} service "${name}" has nowhere to run: no region has ${kind.businessUnit}`,
          `add "${kind.businessUnit}" to a region's businessUnits, or remove the service from this environment (services: {${name}: null})`,
          'key',
        );
    }
    s.placement?.dataCenters.forEach((d, i) => {
      if (!Object.hasOwn(dcsIn, d)) unknownRef(`${p}/placement/dataCenters/${i}`, 'data centre', d, dcNames);
    });
    placed = placed.filter((d) => Object.hasOwn(dcsIn, d)).sort((a, b) => dcsIn[a]!.rotation - dcsIn[b]!.rotation);
    const w = s.workload;
    if (w?.replicas && w.replicas.min > w.replicas.max)
      report(
        'TOPOLOGY_INVALID_VALUE',
        `${p}/workload/replicas/min`,
        `replicas.min ${w.replicas.min} exceeds replicas.max ${w.replicas.max}`,
        'the autoscaler keeps the replica count between min and max',
      );
    w?.envFrom?.forEach((c, i) => {
      if (!isDnsLabel(c))
        report(
          'TOPOLOGY_INVALID_NAME',
          `${p}/workload/envFrom/${i}`,
          `ConfigMap name "${c}" is not a DNS-1123 label`,
          'name a ConfigMap in the service namespace, e.g. session-cache',
        );
    });
    if (kind.tier === 'client-facing' && stage === 'production') {
      const regions = new Set(placed.map((d) => dcsIn[d]!.region));
      if (placed.length < 2 || regions.size < 2) {
        report(
          'TOPOLOGY_REDUNDANCY',
          s.placement ? `${p}/placement` : p,
          `client-facing service "${name}" runs in ${placed.length} DC(s) across ${regions.size} region(s); production needs at least 2 DCs in at least 2 regions`,
          'widen placement.dataCenters (or remove it to run everywhere)',
          s.placement ? 'value' : 'key',
        );
      }
    }
    let database: Service['database'];
    if (s.database) {
      const { engine, name: dbName, check, sizeGiB, changeGiBPerDay } = s.database;
      const topology = s.database.topology ?? (kind.tier === 'regional' ? 'per-dc' : 'replicated');
      let instances: { name: string; primary: string; replicas: string[] }[];
      if (topology === 'per-dc') {
        if (s.database.primary !== undefined)
          report(
            'TOPOLOGY_INVALID_VALUE',
            `${p}/database/primary`,
            `database of "${name}" is per-dc: every DC has its own instance, so there is no primary DC to choose`,
            'remove primary, or set topology: replicated',
          );
        instances = placed.map((d) => ({ name: `${name}-${d}`, primary: d, replicas: [] }));
      } else {
        const primary = s.database.primary ?? placed[0];
        if (s.database.primary !== undefined && !placed.includes(s.database.primary)) {
          report(
            'TOPOLOGY_PLACEMENT_INVALID',
            `${p}/database/primary`,
            `the primary of "${name}"'s database is in ${s.database.primary}, where the service does not run`,
            `choose one of: ${placed.join(', ') || 'none'}`,
          );
        }
        instances = primary !== undefined && placed.includes(primary) ? [{ name, primary, replicas: placed.filter((d) => d !== primary) }] : [];
      }
      database = {
        engine,
        name: dbName,
        topology,
        instances,
        ...(check ? { check } : {}),
        ...(sizeGiB !== undefined ? { sizeGiB } : {}),
        ...(changeGiBPerDay !== undefined ? { changeGiBPerDay } : {}),
      };
    }
    services.push({
      name,
      kind: s.kind,
      tier: kind.tier,
      ...(kind.businessUnit ? { businessUnit: kind.businessUnit } : {}),
      recoveryPriority: s.recoveryPriority ?? kind.recoveryPriority,
      namespace: s.namespace ?? name,
      image: s.image,
      version: s.version,
      port: s.port ?? 8080,
      ...(database ? { database } : {}),
      rollout,
      traffic: { metric: s.traffic?.metric ?? 'http_requests_total', selector: s.traffic?.selector ?? { service: name } },
      policies: policies as Service['policies'],
      dataCenters: placed,
      ...(s.workload ? { workload: s.workload } : {}),
    });
  }

  // Names plugins derive from these names (`<service>-primary`, `restore-drill-<service>`…) are
  // checked against Kubernetes' limits by the plugin that makes them, in its `check` hook
  // (checkDerivedNames in @topoforge/plugin-contract).
  // Names derived from others must not collide: two services in one namespace, or (on
  // the test stand, where restore drills restore service X into namespace drill-X and
  // delete that namespace before each drill) a service whose namespace is a drill's.
  const byNamespace = new Map<string, string>();
  for (const svc of services) {
    const p = `/services/${escapePointer(svc.name)}`;
    // A namespace Kubernetes owns would become the service's: the namespaces plugin emits it, and
    // removing the service prunes it. Namespaces a plugin uses are checked by that plugin, against
    // its configured option (checkNamespaceCollisions in @topoforge/plugin-contract).
    if (isKubernetesNamespace(svc.namespace)) {
      const explicit = Object.hasOwn(input.services?.[svc.name] ?? {}, 'namespace');
      report(
        'TOPOLOGY_NAME_COLLISION',
        explicit ? `${p}/namespace` : p,
        `service "${svc.name}" would run in namespace "${svc.namespace}", which Kubernetes owns: topoforge would emit it as the service's Namespace, and removing the service would delete it`,
        explicit
          ? 'set another namespace; "default" and the "kube-" namespaces belong to Kubernetes'
          : 'rename the service or set its namespace; "default" and the "kube-" namespaces belong to Kubernetes',
        explicit ? 'value' : 'key',
      );
    }
    const other = byNamespace.get(svc.namespace);
    if (other !== undefined)
      report(
        'TOPOLOGY_NAME_COLLISION',
        Object.hasOwn(input.services?.[svc.name] ?? {}, 'namespace') ? `${p}/namespace` : p,
        `service "${svc.name}" and service "${other}" would share namespace "${svc.namespace}"`,
        'give one of them its own namespace',
        'key',
      );
    else byNamespace.set(svc.namespace, svc.name);
  }
  if (stage === 'staging') {
    for (const svc of services) {
      const drilled = services.find((o) => o !== svc && `drill-${o.namespace}` === svc.namespace);
      if (drilled)
        report(
          'TOPOLOGY_NAME_COLLISION',
          `/services/${escapePointer(svc.name)}`,
          `service "${svc.name}" runs in namespace "${svc.namespace}", which the restore drill of "${drilled.name}" deletes and recreates on the test stand`,
          `rename the service or set its namespace; "drill-<service>" namespaces belong to the restore drills`,
          'key',
        );
    }
  }

  // Plugins
  const plugins: PluginUse[] = [];
  for (const [name, use] of Object.entries(input.plugins ?? {})) {
    const p = `/plugins/${escapePointer(name)}`;
    checkName(name, p, 'plugin');
    if (use.enabled === false) continue;
    const position = locate(locations, p, 'key');
    plugins.push({ name, package: use.package ?? `@topoforge/plugin-${name}`, options: use.options ?? {}, ...(position ? { position } : {}) });
  }

  if (ds.length > 0) return fail(ds);

  services.sort((a, b) => a.recoveryPriority - b.recoveryPriority || byName(a, b));
  const dataCenters: DataCenter[] = Object.entries(dcsIn)
    .map(([name, dc]) => {
      const region = regionsIn[dc.region]!;
      return {
        name,
        region: dc.region,
        timeZone: region.timeZone,
        geoTag: region.geoTag ?? dc.region,
        rotation: dc.rotation,
        cluster: { context: dc.cluster.context },
        backupStorage: {
          provider: dc.backupStorage.provider,
          bucket: dc.backupStorage.bucket,
          ...(dc.backupStorage.prefix !== undefined ? { prefix: dc.backupStorage.prefix } : {}),
          config: dc.backupStorage.config ?? {},
          ...(dc.backupStorage.credentialSecret ? { credentialSecret: dc.backupStorage.credentialSecret } : {}),
        },
        services: services.filter((s) => s.dataCenters.includes(name)).map((s) => s.name),
      };
    })
    .sort((a, b) => a.rotation - b.rotation);
  const regions: Region[] = Object.entries(regionsIn)
    .map(([name, r]) => ({
      name,
      timeZone: r.timeZone,
      businessUnits: [...r.businessUnits].sort(),
      geoTag: r.geoTag ?? name,
      dataCenters: dataCenters.filter((d) => d.region === name).map((d) => d.name),
    }))
    .sort(byName);
  const tiers = new Map<number, string[]>();
  for (const s of services) tiers.set(s.recoveryPriority, [...(tiers.get(s.recoveryPriority) ?? []), s.name]);
  const recoveryOrder: RecoveryTier[] = [...tiers.entries()].sort((a, b) => a[0] - b[0]).map(([priority, names]) => ({ priority, services: names }));

  return ok({
    name: input.name!,
    stage,
    ...(input.testStand !== undefined ? { testStand: input.testStand } : {}),
    file,
    files,
    regions,
    dataCenters,
    services,
    recoveryOrder,
    policies: Object.fromEntries(
      Object.keys(policyLists)
        .sort()
        .map((g) => [g, [...(policyLists[g] ?? [])].sort(byName)]),
    ) as unknown as Environment['policies'],
    plugins: plugins.sort(byName),
    sourceMap: locations,
    input: input as Readonly<Record<string, unknown>>,
  });
}
