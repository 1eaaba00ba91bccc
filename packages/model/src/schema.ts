/**
 * The input schema of a topology file, written once with TypeBox: it is both the JSON
 * Schema that ajv validates (so every problem is reported at once, with its path) and
 * the static TypeScript type of the validated input.
 */
// TypeBox as one module (see @topoforge/bundled-deps): its 200 files were a quarter of start-up.
import { Type, type Static, type TSchema } from '@topoforge/bundled-deps/typebox';
import {
  BUCKET_PATTERN,
  DATA_KEY_MAX,
  DATA_KEY_PATTERN,
  DATABASE_NAME_PATTERN,
  DNS_LABEL_PATTERN,
  DNS_SUBDOMAIN_MAX,
  DNS_SUBDOMAIN_PATTERN,
  KUBE_CONTEXT_MAX,
  KUBE_CONTEXT_PATTERN,
  OBJECT_STORE_PROVIDER_PATTERN,
} from './names.js';

/*
 * Every string the model passes on has the pattern of where it ends up (see names.ts): a value
 * that is fine as YAML (a space, a "/", a quote) can still be a path segment, an object name the
 * cluster refuses, or an argument of a script.
 */
/** A reference to one of the model's own names (a region, a DC, a service kind, a policy): a DNS-1123 label. */
const Ref = (description: string) =>
  Type.String({ pattern: DNS_LABEL_PATTERN, description: `${description} (a DNS-1123 label: lower-case letters, digits and "-")` });
const Obj = <T extends Record<string, TSchema>>(props: T, description: string) => Type.Object(props, { additionalProperties: false, description });
const Partial = <T extends Record<string, TSchema>>(props: T, description: string) =>
  Type.Partial(Type.Object(props, { additionalProperties: false, description }));

export const BUILTIN_SERVICE_KINDS = ['social-network', 'telemetry', 'online-store', 'front-application', 'warehouse', 'logistics'] as const;

/**
 * The session cache group is owned by plugins/session-cache (its schema and rules live
 * there); this type stays so code written against the model keeps compiling.
 */
export type SessionCachePolicyInput = {
  readonly windowSeconds: number;
  readonly ttlSeconds: number;
  readonly maxMemory: string;
  readonly replication: 'standalone' | 'sentinel';
  readonly replicas: number;
};

/*
 * The model defines no policy group of its own: every group belongs to the plugin that
 * declares it (`backup` to plugins/velero, `canary` to plugins/flagger, `sessionCache` to
 * plugins/session-cache, `trafficDrop` to plugins/traffic-alerts). Here a group is named
 * policies of any shape; the owning plugin's schema checks them.
 */
const PluginPolicyGroup = Type.Record(Type.String(), Type.Record(Type.String(), Type.Unknown(), { description: 'a policy; its plugin declares the schema' }));
export const PoliciesSchema = Type.Record(Type.String(), PluginPolicyGroup, { description: 'named policies that services reference, by group' });

export const RegionSchema = Obj(
  {
    timeZone: Type.String({ minLength: 1, description: 'IANA time zone, e.g. Europe/Berlin' }),
    businessUnits: Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'e.g. warehouses, couriers; empty when the region has none' }),
    geoTag: Type.Optional(Type.String({ minLength: 1, description: 'geo tag for global load balancing; defaults to the region name' })),
  },
  'a region',
);

export const DataCenterSchema = Obj(
  {
    region: Ref('the region the DC is in'),
    rotation: Type.Integer({ minimum: 1, description: 'position in the backup rotation (1 = day 1 of the month)' }),
    cluster: Obj(
      {
        context: Type.String({
          pattern: KUBE_CONTEXT_PATTERN,
          maxLength: KUBE_CONTEXT_MAX,
          description:
            'kubeconfig context of the DC cluster, e.g. prod-dc01 or arn:aws:eks:eu-west-1:123456789012:cluster/prod (no spaces or control characters, not starting with "-")',
        }),
      },
      'the DC Kubernetes cluster',
    ),
    backupStorage: Obj(
      {
        provider: Type.String({
          pattern: OBJECT_STORE_PROVIDER_PATTERN,
          description: 'Velero object store plugin provider, e.g. aws or velero.io/aws (a DNS-1123 label, optionally after "<DNS subdomain>/")',
        }),
        bucket: Type.String({
          pattern: BUCKET_PATTERN,
          description:
            'bucket name: 3-222 lower-case letters, digits, ".", "-" and "_", starting and ending with a letter or digit (S3 and Azure take at most 63 and no "_")',
        }),
        prefix: Type.Optional(Type.String()),
        config: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'provider config, e.g. region, s3Url' })),
        credentialSecret: Type.Optional(
          Obj(
            {
              name: Type.String({
                pattern: DNS_SUBDOMAIN_PATTERN,
                maxLength: DNS_SUBDOMAIN_MAX,
                description: 'Secret name (a DNS-1123 subdomain: lower-case letters, digits, "-" and ".")',
              }),
              key: Type.String({
                pattern: DATA_KEY_PATTERN,
                maxLength: DATA_KEY_MAX,
                description: 'key in the Secret (letters, digits, "-", "_" and "."; not "." or starting with "..")',
              }),
            },
            'a reference to the credential Secret (never the value)',
          ),
        ),
      },
      'object storage for backups',
    ),
  },
  'a data centre',
);

export const ServiceKindSchema = Obj(
  {
    tier: Type.Union([Type.Literal('client-facing'), Type.Literal('regional')]),
    businessUnit: Type.Optional(Type.String({ minLength: 1, description: 'for regional kinds: the business unit a region must have' })),
    recoveryPriority: Type.Integer({ minimum: 1, maximum: 9 }),
  },
  'a service kind',
);

/** A Kubernetes quantity as teams write it: `250m`, `1`, `512Mi`, `2Gi`. */
const Quantity = (description: string) => Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$', description });
const ResourceList = (description: string) => Partial({ cpu: Quantity('CPU, e.g. 250m or 1'), memory: Quantity('memory, e.g. 512Mi') }, description);
const HttpPath = (description: string) => Type.String({ pattern: "^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$", description });

/**
 * What a team says about how its service runs (plugins/workloads turns it into the
 * Deployment, Ingress, HPA and PodDisruptionBudget); everything has a default per kind.
 */
export const WorkloadSchema = Partial(
  {
    host: Type.String({
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$',
      maxLength: 253,
      description: 'host name of the service Ingress, e.g. shop.example.com',
    }),
    replicas: Obj(
      { min: Type.Integer({ minimum: 1, maximum: 1000 }), max: Type.Integer({ minimum: 1, maximum: 1000 }) },
      'autoscaling range (the HPA owns replicas)',
    ),
    cpuUtilization: Type.Integer({ minimum: 1, maximum: 100, description: 'HPA target CPU utilization (%)' }),
    resources: Partial({ requests: ResourceList('what the scheduler reserves'), limits: ResourceList('the most a container may use') }, 'container resources'),
    envFrom: Type.Array(Type.String({ minLength: 1 }), {
      uniqueItems: true,
      description: "ConfigMaps in the service's namespace whose keys become environment variables, e.g. session-cache",
    }),
    probes: Partial(
      {
        liveness: HttpPath('HTTP path the kubelet restarts the container on failure of'),
        readiness: HttpPath('HTTP path that takes the pod out of the Service while failing'),
        startupSeconds: Type.Integer({ minimum: 1, maximum: 3600, description: 'how long the service may take to start before liveness counts' }),
      },
      'HTTP probes on the service port',
    ),
  },
  'how the service runs (plugins/workloads)',
);
export type WorkloadInput = Static<typeof WorkloadSchema>;

export const ServiceSchema = Obj(
  {
    kind: Ref('service kind'),
    recoveryPriority: Type.Optional(Type.Integer({ minimum: 1, maximum: 9, description: 'overrides the kind default; 1 recovers first' })),
    namespace: Type.Optional(Type.String({ minLength: 1 })),
    image: Type.String({ minLength: 1, description: 'container image repository' }),
    version: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$', description: 'image tag deployed' }),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    database: Type.Optional(
      Obj(
        {
          engine: Type.Union([Type.Literal('postgresql'), Type.Literal('mysql'), Type.Literal('mongodb')]),
          name: Type.String({
            pattern: DATABASE_NAME_PATTERN,
            description: 'database name, also the pgBackRest stanza: a letter or "_", then letters, digits, "_" and "-", at most 63 characters',
          }),
          topology: Type.Optional(
            Type.Union([Type.Literal('per-dc'), Type.Literal('replicated')], {
              description:
                'per-dc: one instance with its own data in each DC (default for regional services); replicated: one database, primary in one DC, replicas in the others (default for client-facing services)',
            }),
          ),
          primary: Type.Optional(Ref('replicated only: the DC of the primary; defaults to the first DC in rotation order')),
          check: Type.Optional(
            Obj(
              {
                query: Type.String({ minLength: 1, description: 'read-only SQL a restore drill runs against the restored database' }),
                expect: Type.String({ description: 'its expected output (psql -At: one line per row, columns joined by |)' }),
              },
              'the data assertion of restore drills',
            ),
          ),
          sizeGiB: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'data size of one instance, for transfer estimates' })),
          changeGiBPerDay: Type.Optional(Type.Number({ minimum: 0, description: 'data changed per day in one instance, for transfer estimates' })),
        },
        'the service database',
      ),
    ),
    rollout: Type.Optional(Type.Union([Type.Literal('canary'), Type.Literal('rolling')])),
    traffic: Type.Optional(
      Obj(
        {
          metric: Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$', description: 'request counter metric' }),
          selector: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), Type.String())),
        },
        'the traffic metric',
      ),
    ),
    workload: Type.Optional(WorkloadSchema),
    placement: Type.Optional(Obj({ dataCenters: Type.Array(Type.String(), { minItems: 1, uniqueItems: true }) }, 'restrict to these DCs')),
    policies: Type.Optional(Type.Record(Type.String(), Ref('the name of a policy of this group'), { description: 'policies the service uses, by group' })),
  },
  'a service',
);

export const PluginUseSchema = Obj(
  {
    enabled: Type.Optional(Type.Boolean()),
    package: Type.Optional(Type.String({ minLength: 1, description: 'module to import; defaults to @topoforge/plugin-<name>' })),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  'a plugin to run',
);

/** `extends`: the loader follows it before the merged file is validated, so it is checked on its own too. */
export const ExtendsSchema = Type.String({ minLength: 1, description: 'file this one overrides, relative to it' });

export const TopologyFileSchema = Partial(
  {
    kind: Type.Union([Type.Literal('Environment'), Type.Literal('Base')]),
    name: Type.String({ minLength: 1 }),
    extends: ExtendsSchema,
    stage: Type.Union([Type.Literal('staging'), Type.Literal('production')]),
    testStand: Type.String({
      minLength: 1,
      description:
        'production only: the staging environment every version here must have passed (its ledger, verified/<name>.yaml); render, check, plan and diff refuse a version it never verified or rolled back',
    }),
    regions: Type.Record(Type.String(), RegionSchema),
    dataCenters: Type.Record(Type.String(), DataCenterSchema),
    serviceKinds: Type.Record(Type.String(), ServiceKindSchema),
    services: Type.Record(Type.String(), ServiceSchema),
    policies: PoliciesSchema,
    plugins: Type.Record(Type.String(), PluginUseSchema),
  },
  'a topology file',
);
export type TopologyInput = Static<typeof TopologyFileSchema>;
