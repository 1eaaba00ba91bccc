/**
 * The error catalog, in the style of Astro's errors-data.ts: every code topoforge reports,
 * once, with a title, what happened (and why), and what to do. Codes are permanent: a
 * code is never reused for another problem. A diagnostic carries its own message (naming
 * the file, field, plugin or object); the catalog says what the code means in general and
 * gives the hint used when a diagnostic has none. docs/errors.md is generated from this
 * file (`pnpm --filter @topoforge/errors docs`) and a test keeps it true; another test
 * checks every code used in the sources is here.
 */
export interface ErrorData {
  /** Short, stable heading. */
  readonly title: string;
  /** What happened and why, in general terms. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

export const ERRORS = {
  // --- topology files -------------------------------------------------------------------
  TOPOLOGY_FILE_UNREADABLE: {
    title: 'Topology file unreadable',
    message: 'An environment file or the environments directory could not be read.',
    hint: 'Check the path given with --environments and the file permissions.',
  },
  TOPOLOGY_YAML_SYNTAX: {
    title: 'YAML syntax error',
    message: 'A topology file is not valid YAML.',
    hint: 'Fix the YAML at the position shown (indentation, quotes, a missing colon).',
  },
  TOPOLOGY_EXTENDS_CYCLE: {
    title: 'extends forms a cycle',
    message: 'Files extend each other in a loop, so there is no base to start from.',
    hint: 'An environment extends a base; a base must not extend the environment.',
  },
  TOPOLOGY_EXTENDS_NOT_FOUND: {
    title: 'extends names a missing file',
    message: 'The file named by `extends` does not exist.',
    hint: '`extends` is relative to the file that names it.',
  },
  TOPOLOGY_UNKNOWN_KEY: {
    title: 'Unknown key',
    message: "A key is not part of the schema (the topology, a plugin's options or a plugin's policy group), often a misspelling.",
    hint: 'Use the suggested key, or remove it.',
  },
  TOPOLOGY_INVALID_VALUE: {
    title: 'Invalid value',
    message: "A value has the wrong type, is out of range, or breaks a rule of the model or of a policy group's schema.",
    hint: 'Change the value at the position shown; the hint names what is expected.',
  },
  TOPOLOGY_MISSING_FIELD: { title: 'Missing field', message: 'A required field is absent.', hint: 'Add the field; the hint says what it holds.' },
  TOPOLOGY_INVALID_NAME: {
    title: 'Invalid name',
    message: 'A name used in Kubernetes objects or paths is not a DNS-1123 label.',
    hint: 'Use lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters.',
  },
  TOPOLOGY_UNKNOWN_REFERENCE: {
    title: 'Unknown reference',
    message: 'A name refers to a region, DC, service kind, environment, policy or policy group that is not defined.',
    hint: 'Use the suggested name or define it first.',
  },
  TOPOLOGY_UNKNOWN_TIME_ZONE: {
    title: 'Unknown time zone',
    message: "A region's time zone is not an IANA time zone.",
    hint: 'Use a name such as Europe/Berlin or America/New_York.',
  },
  TOPOLOGY_ROTATION_INVALID: {
    title: 'Backup rotation invalid',
    message: 'DC rotation positions must be 1..N without gaps or duplicates, so that day d goes to DC ((d-1) mod N)+1.',
    hint: 'Give each DC its own position from 1 to the number of DCs.',
  },
  TOPOLOGY_PLACEMENT_INVALID: {
    title: 'Placement invalid',
    message: 'A regional service is placed in a DC whose region lacks its business unit, or has nowhere to run.',
    hint: 'Place it where its business unit exists, or remove it from this environment.',
  },
  TOPOLOGY_REDUNDANCY: {
    title: 'Not enough redundancy',
    message: 'In production a client-facing service must run in at least 2 DCs across at least 2 regions.',
    hint: 'Widen placement.dataCenters, or remove it to run everywhere.',
  },
  TOPOLOGY_DUPLICATE_ENVIRONMENT: {
    title: 'Duplicate environment',
    message: 'Two files define an environment of the same name.',
    hint: 'Environment names must be unique in the directory.',
  },
  TOPOLOGY_NO_ENVIRONMENTS: {
    title: 'No environments',
    message: 'The environments directory has no file with `kind: Environment`.',
    hint: 'An environment file starts with kind: Environment.',
  },
  TOPOLOGY_NAME_TOO_LONG: {
    title: 'Name too long',
    message: 'A name, or a name derived from it (a namespace, an object name, a label value), exceeds the length Kubernetes allows.',
    hint: 'Shorten the name by at least the number of characters the message gives.',
  },
  TOPOLOGY_FILE_TYPE: {
    title: 'Not a regular file',
    message: 'An environment file, or a file it extends, is not a regular file (a device such as /dev/zero, a FIFO, a directory).',
    hint: 'Topology files and what they extend are regular YAML files; name one.',
  },
  TOPOLOGY_LIMIT_EXCEEDED: {
    title: 'Topology file too large',
    message: 'A topology file is too large, too deeply nested or has too many keys and values for a description of a platform.',
    hint: 'Split it, or check that the right file is named.',
  },
  TOPOLOGY_ALIAS: {
    title: 'YAML alias refused',
    message: 'A YAML alias refers to a node that contains it (a cycle), or aliases expand too far (an alias bomb).',
    hint: 'Write the values out instead of aliasing them.',
  },
  TOPOLOGY_NAME_COLLISION: {
    title: 'Names collide',
    message:
      "Two names collide once derived: two services in one namespace, a service in a namespace a restore drill deletes and recreates on the test stand, or a service in a namespace topoforge does not own (`default` and `kube-*`, which Kubernetes owns, or a namespace a plugin is configured to use), which it would emit as the service's and delete with it.",
    hint: 'Rename one of them, or give it its own namespace (or configure the plugin to use another).',
  },
  TOPOLOGY_PLAIN_SECRET: {
    title: 'Secret value in the topology',
    message: 'A value in an environment file looks like a password, token or key; topology files are committed and rendered into the GitOps repository.',
    hint: 'Reference a Kubernetes Secret (secretKeyRef / credential: { name, key }) instead of writing the value.',
  },
  // --- plugins --------------------------------------------------------------------------
  PLUGIN_NOT_FOUND: {
    title: 'Plugin not found',
    message: 'The package or path an environment names under `plugins:` cannot be resolved.',
    hint: "Install the package beside the environments (or in the workspace), or set plugins.<name>.package to the plugin's directory.",
  },
  PLUGIN_IMPORT_FAILED: {
    title: 'Plugin import failed',
    message: 'The plugin was found but importing it failed: usually its own dependencies are not installed, or it was not built.',
    hint: "Run npm install and npm run build in the plugin's directory.",
  },
  PLUGIN_INVALID_DEFINITION: {
    title: 'Not a topoforge plugin',
    message: 'The module does not export a plugin made by definePlugin, its name differs from its key, or it lacks a render hook.',
    hint: 'export default definePlugin({...}) from @topoforge/plugin-contract, named as its key under plugins:.',
  },
  PLUGIN_CONTRACT_VERSION: {
    title: 'Plugin contract version',
    message: 'The plugin was built for another plugin contract version than this topoforge speaks (or declares none).',
    hint: 'Rebuild the plugin with the current @topoforge/plugin-contract; the message says how to migrate from v1.',
  },
  PLUGIN_DUPLICATE_NAME: { title: 'Duplicate plugin name', message: 'Two plugins have the same name.', hint: 'Plugin names must be unique.' },
  PLUGIN_INVALID_OPTIONS: {
    title: 'Invalid plugin options',
    message: "A plugin's options do not match its options schema.",
    hint: 'Fix plugins.<name>.options at the position shown.',
  },
  PLUGIN_ORDER_CYCLE: {
    title: 'Plugins wait for each other',
    message: 'The `after` declarations of plugins form a cycle.',
    hint: 'Remove one of the after declarations.',
  },
  PLUGIN_UNKNOWN_DEPENDENCY: {
    title: 'Unknown plugin in after',
    message: 'A plugin runs after a plugin that is not enabled in the environment (a typo, or a plugin switched off).',
    hint: 'Use the suggested name, enable that plugin, or write "name?" to run after it only when it is enabled.',
  },
  PLUGIN_UNKNOWN_POLICY_GROUP: {
    title: 'Policy group without a plugin',
    message: 'Policies of a group are defined or referenced, but no enabled plugin declares that group.',
    hint: 'Use the suggested group name, or enable the plugin that declares it.',
  },
  PLUGIN_POLICY_GROUP_CONFLICT: {
    title: 'Policy group declared twice',
    message: 'Two plugins (or a plugin and the model) declare the same policy group.',
    hint: 'A policy group has one owner; rename one of them.',
  },
  PLUGIN_THREW: {
    title: 'Plugin threw',
    message: 'A plugin hook threw an exception, a bug in the plugin (writing to the frozen model also throws).',
    hint: 'Report input problems with ctx.error() instead of throwing; never modify ctx.env.',
  },
  PLUGIN_PATH_CONFLICT: {
    title: 'Output path taken',
    message: 'A plugin writes a path that it or another plugin already wrote.',
    hint: 'Give each output its own path (e.g. include the DC or service name).',
  },
  PLUGIN_PATH_ESCAPE: {
    title: 'Output path not allowed',
    message: 'A plugin writes outside the environment directory, over the index, or with characters a path may not hold.',
    hint: 'Emit relative paths of [A-Za-z0-9._-] segments.',
  },
  PLUGIN_INVALID_OBJECT: {
    title: 'Invalid emitted object',
    message: 'A plugin emitted an object without apiVersion, kind and metadata.name, for an unknown DC or service, or one that cannot be serialized.',
    hint: 'Every Kubernetes object needs apiVersion, kind and metadata.name.',
  },
  PLUGIN_TEMPLATE_ERROR: {
    title: 'Template failed',
    message: 'A handlebars template used a field its data does not have (templates are strict).',
    hint: 'Give the template every field it uses.',
  },
  PLUGIN_VALIDATION_FAILED: {
    title: 'Plugin rejected the input',
    message: "A plugin's check or render reported a problem with the model or its options.",
    hint: 'Change the field the message names.',
  },
  PLUGIN_OBJECT_CONFLICT: {
    title: 'Object emitted twice',
    message: 'Two plugins (or one plugin twice) emit the same kind, namespace and name into one cluster; applied, one would overwrite the other.',
    hint: 'Rename the service that is named like something a plugin creates, or set its namespace.',
  },
  PLUGIN_PLAIN_SECRET: {
    title: 'Secret value in plugin output',
    message: 'A file a plugin would write holds what looks like a plain-text secret. Nothing was written.',
    hint: 'Emit a reference to a Kubernetes Secret instead of the value; the value never belongs in the GitOps repository.',
  },
  // --- render ---------------------------------------------------------------------------
  RENDER_LAYOUT_INVALID: {
    title: 'Output breaks the GitOps layout',
    message:
      'A file under clusters/<dc>/ is not only Kubernetes objects, or one object appears twice in a DC; Flux and Argo CD apply everything there. Nothing was written.',
    hint: 'Emit other files outside clusters/, and one object per DC.',
  },
  RENDER_CRD_INVALID: {
    title: 'Object does not match its CRD',
    message:
      'An emitted custom resource fails the openAPIV3Schema of its CustomResourceDefinition (from --crds or TOPOFORGE_CRDS), or a CRD directory is missing. Nothing was written.',
    hint: 'Fix the object the plugin emits; the CRD is what the API server accepts.',
  },
  RENDER_WRITE_FAILED: {
    title: 'Cannot write the output',
    message: 'Writing the output tree failed.',
    hint: 'The previous output was left as it was; check the disk and permissions.',
  },
  RENDER_FOREIGN_CONTENT: {
    title: 'Output holds foreign content',
    message: 'Where topoforge would write an environment, the output holds files or links topoforge did not write.',
    hint: 'Move them away, or pass --adopt to let topoforge replace them.',
  },
  RENDER_OTHER_SOURCE: {
    title: 'Output rendered from elsewhere',
    message: "The output was rendered from another environments directory; rendering over it would replace another topology's output.",
    hint: 'Give this topology its own --out, or pass --adopt to take the output over.',
  },
  RENDER_UNSAFE_OUTPUT: {
    title: 'Unsafe output directory',
    message:
      '--out is the file-system root, the home directory, a repository root or the directory that holds the environments; topoforge replaces what it renders there.',
    hint: 'Render into a directory of its own, e.g. --out out.',
  },
  RENDER_UNSAFE_PATH: {
    title: 'Unsafe path in the output',
    message: 'A symbolic link or a file stands where topoforge keeps its staging, trash or journal in the output.',
    hint: 'Remove it by hand and render again.',
  },
  RENDER_LOCKED: {
    title: 'Output locked',
    message: "Another render holds the output's lock beyond the wait timeout.",
    hint: 'Wait for it to finish; if no topoforge is running, delete the stale lock file the message names.',
  },
  RENDER_OUTPUT_INVALID: {
    title: 'Output not readable',
    message: '--out is not a readable directory: a file, a link loop or a broken link.',
    hint: 'Give --out the directory render wrote.',
  },
  // --- gitops ---------------------------------------------------------------------------
  GITOPS_LAYOUT: {
    title: 'Tree breaks the GitOps layout',
    message:
      'A tree given to validateLayout (one not made by the current render: the render phase refuses the same as RENDER_LAYOUT_INVALID) has a file under clusters/<dc>/ that is not Kubernetes objects, or a duplicate object in a DC.',
    hint: 'Render with the current topoforge (render validates the layout) and publish that.',
  },
  GITOPS_GIT_FAILED: {
    title: 'git failed',
    message: 'A git command (clone, checkout, commit, push) failed.',
    hint: "Read git's message; when a push was rejected, publish again.",
  },
  GITOPS_UNKNOWN_REF: {
    title: 'Unknown git ref',
    message: '--base names no commit.',
    hint: 'Fetch it first (git fetch origin main, or fetch-depth: 0 in CI).',
  },
  GITOPS_DIRTY_REPOSITORY: {
    title: 'Repository has local changes',
    message: 'The GitOps work tree has uncommitted or staged changes in directories topoforge owns.',
    hint: 'Commit or discard them first.',
  },
  GITOPS_NOTHING_TO_COMPARE: {
    title: 'Nothing to compare',
    message: 'The directory given to --against does not exist or holds no rendered environment.',
    hint: 'Check out the GitOps repository there, or render into it first.',
  },
  GITOPS_UNSAFE_TREE: {
    title: 'Rendered tree not safe to read',
    message: 'A rendered tree on disk holds what topoforge never writes: YAML aliases, special files, or files too large to be its output.',
    hint: 'Restore the tree from a render; remove what was added by hand.',
  },
  GITOPS_LOCKED: {
    title: 'Repository locked',
    message: "Another publish holds the GitOps repository's lock beyond the wait timeout.",
    hint: 'Wait for it; if no topoforge is running, delete the stale lock file the message names.',
  },
  // --- promote --------------------------------------------------------------------------
  PROMOTE_NOT_VERIFIED: {
    title: 'Version not verified',
    message: 'A version was never recorded as passing the test stand.',
    hint: 'Run it through staging (topoforge verify records it) before promoting.',
  },
  PROMOTE_IMAGE_NOT_TESTED: {
    title: 'Image the test stand never verified',
    message:
      'A production service runs an image (repository) that its test stand neither runs nor ran a verified version from (the ledger lists those under images): a verified tag says nothing about an image from elsewhere. Or promote was asked to carry such an image.',
    hint: 'Set the image in staging first; once a version from it passed there, topoforge verify records the image and topoforge promote --service <name> carries it into production.',
  },
  PROMOTE_VERSION_MISMATCH: {
    title: 'Version mismatch',
    message: 'The environments and the ledger disagree about a service version, or a service or environment is unknown.',
    hint: 'Promote from the test stand, or fix the named file.',
  },
  PROMOTE_LEDGER_INVALID: {
    title: 'Ledger invalid',
    message: 'The ledger of verified versions cannot be read or has an invalid entry.',
    hint: 'Fix or regenerate environments/verified/<env>.yaml.',
  },
  PROMOTE_VERSION_FAILED: {
    title: 'Version failed on the test stand',
    message: 'The version is recorded as failed (rolled back) on the test stand; a failed version stays failed.',
    hint: 'Fix it and verify a new version.',
  },
  PROMOTE_LOCKED: {
    title: 'Ledger locked',
    message: "Another verify or promote holds the file's lock beyond the wait timeout.",
    hint: 'Wait for it; if none is running, delete the stale lock file the message names.',
  },
  // --- plugins' own checks (reported as PLUGIN_VALIDATION_FAILED, the message starting with the code) ---
  TRAFFIC_SELECTOR_INVALID: {
    title: 'Traffic selector not usable in PromQL',
    message: "A service's traffic selector has a label name or value that cannot be written into a PromQL selector safely (traffic-alerts).",
    hint: 'Use plain label names and values: no line breaks or control characters.',
  },
  VELERO_TIME_ZONE: {
    title: 'Time zone Velero cannot use',
    message:
      "A region's time zone (or the restore drill's) is an abbreviation, a POSIX rule or a name Go's time.LoadLocation (Velero's CRON_TZ) cannot load: Velero would reject the Schedule or run it without the region's daylight saving (velero).",
    hint: 'Use an exact IANA name such as Europe/Lisbon or America/Chicago.',
  },
  // --- restore and failover drills (topoforge drill) ---------------------------------------
  DRILL_SCENARIO_UNREADABLE: {
    title: 'Drill scenario unreadable',
    message: 'The scenario file could not be read.',
    hint: 'Check the path given to topoforge drill failover.',
  },
  DRILL_SCENARIO_INVALID: {
    title: 'Drill scenario invalid',
    message: 'The scenario file is not valid YAML, breaks the scenario schema, or names a DC or service the environment does not have.',
    hint: 'Fix the scenario at the position shown (see packages/drill/README.md for the format).',
  },
  DRILL_MODEL_INVALID: {
    title: 'Drill environments invalid',
    message: 'The environments a drill runs against do not load.',
    hint: 'Run topoforge check and fix the problems it lists.',
  },
  DRILL_UNKNOWN_ENVIRONMENT: {
    title: 'Drill names an unknown environment',
    message: 'No environment of that name is defined.',
    hint: 'Use one of the environments in the environments directory.',
  },
  DRILL_ENVIRONMENT_MISMATCH: {
    title: 'Scenario for another environment',
    message: 'The scenario was written for another environment than the one the drill runs.',
    hint: "Run it with --env set to the scenario's environment, or change the scenario.",
  },
  DRILL_NO_TRAFFIC_ALERTS: {
    title: 'Drill needs traffic-alerts',
    message: 'The environment does not enable the traffic-alerts plugin, whose rules and routing the failover drill exercises.',
    hint: 'Enable traffic-alerts under plugins: in the environment.',
  },
  DRILL_RENDER_FAILED: {
    title: 'Drill render failed',
    message: 'Rendering the environment for the drill failed.',
    hint: 'Fix the problems listed (topoforge check shows them too).',
  },
  DRILL_ALERTMANAGER_REJECTED: {
    title: 'Alertmanager refused the drill',
    message: 'The real Alertmanager the drill starts refused an alert or the rendered configuration.',
    hint: "Read Alertmanager's answer in the message; check the routing traffic-alerts renders with amtool.",
  },
  // --- sandbox clusters (topoforge sandbox) ------------------------------------------------
  SANDBOX_TOOL_MISSING: {
    title: 'Cluster tool missing',
    message: 'A binary the sandbox runs (etcd, kube-apiserver, kubectl, …) is not installed.',
    hint: 'Run pnpm run setup:tools (TOPOFORGE_CLUSTER_TOOLS=1 builds the cluster tools).',
  },
  SANDBOX_RUNNING: {
    title: 'Sandbox already running',
    message: 'A sandbox is already running in that directory.',
    hint: 'Use it (topoforge sandbox env), or stop it with topoforge sandbox down first.',
  },
  SANDBOX_NOT_RUNNING: {
    title: 'No sandbox running',
    message: 'There is no sandbox state in that directory.',
    hint: 'Start one with topoforge sandbox up, or pass the --dir it was started with.',
  },
  SANDBOX_START_FAILED: {
    title: 'Sandbox failed to start',
    message: 'A sandbox process (openssl, etcd, kube-apiserver, a controller) failed or did not become ready.',
    hint: 'Read the last log lines in the message; free the ports or stop a previous sandbox.',
  },
  SANDBOX_CRD_INVALID: {
    title: 'Sandbox CRD file invalid',
    message: 'A CustomResourceDefinition file given to the sandbox is not valid YAML or lacks metadata.name.',
    hint: 'Fix the file, or point --crds at upstream CRD files.',
  },
  SANDBOX_CRD_FAILED: {
    title: 'Sandbox CRDs not installed',
    message: 'Installing CRDs into a sandbox cluster failed, or they did not become Established.',
    hint: "Read kubectl's output in the message; check the CRD files.",
  },
  SANDBOX_BAD_INPUT: {
    title: 'Sandbox input invalid',
    message: 'A DC name is not a DNS label, a CRD path does not exist, two DCs share a kube context, or there is no cluster to start.',
    hint: 'Fix the environment or the options the message names.',
  },
  // --- services topoforge ships (promotion gate, failover orchestrator, session cache) ----
  GATE_CONFIG_INVALID: {
    title: 'Promotion gate configuration invalid',
    message: "The promotion gate's rendered configuration is missing or malformed.",
    hint: 'Render again; the gate reads the ConfigMap flagger renders from the ledger.',
  },
  ORCHESTRATOR_CONFIG_INVALID: {
    title: 'Failover orchestrator configuration invalid',
    message: "The failover orchestrator's rendered configuration is missing or malformed.",
    hint: 'Render again; the orchestrator reads the ConfigMap traffic-alerts renders.',
  },
  ORCHESTRATOR_LEASE_CONFLICT: {
    title: 'Orchestrator Lease changed under it',
    message:
      'A failover orchestrator replica lost a race for its election Lease in one DC cluster: another replica created or updated it first (HTTP 409). Normal while replicas start or take over; reported in /v1/state.',
    hint: 'Nothing to do unless it persists; check which replica holds the Lease with kubectl get lease failover-orchestrator -n <namespace>.',
  },
  ORCHESTRATOR_LEASE_UNREACHABLE: {
    title: 'DC cluster unreachable for the orchestrator',
    message:
      "A failover orchestrator replica could not reach a DC cluster's API server to hold its election Lease; without a majority of the clusters it does not act.",
    hint: "Expected for a lost DC; otherwise check the replica's kubeconfig Secret and its network path to that API server.",
  },
  ORCHESTRATOR_LEASE_FORBIDDEN: {
    title: 'Orchestrator may not hold its Lease',
    message: "A DC cluster refused the orchestrator's Lease request (HTTP 401/403).",
    hint: 'Apply the failover-orchestrator-lease Role and RoleBinding traffic-alerts renders in every DC cluster, and check the token in the kubeconfig Secret.',
  },
  ORCHESTRATOR_LEASE_TIMEOUT: {
    title: 'Orchestrator Lease request timed out',
    message: "A DC cluster's API server did not answer a Lease request within the retry period; the replica does not count that cluster.",
    hint: "Check the API server's load and the network path; a slow majority makes the leader step down.",
  },
  ORCHESTRATOR_LEASE_FAILED: {
    title: 'Orchestrator Lease request failed',
    message: 'A DC cluster answered a Lease request with an unexpected HTTP status.',
    hint: "Read the status in /v1/state (leadership.clusters) and the API server's log.",
  },
  ORCHESTRATOR_BACKOFF_INVALID: {
    title: 'Persisted failback back-off unusable',
    message:
      "A warning: the failback back-off the orchestrator keeps on a service's Gslb (annotation failover.topoforge.io/backoff) could not be used when a leader adopted the Gslbs: not the orchestrator's JSON, a factor that is not 1, 2, 4 or 8, a time that is not one or lies in the future, or a DC the service does not have. That record (or that DC's entry) is ignored: its DCs start at 1 ×, and the leader writes the current back-off over it with the next patch.",
    hint: 'Nothing to do unless it repeats; do not edit the annotation by hand. A time in the future means a clock of a replica is wrong.',
  },
  ORCHESTRATOR_WEBHOOK_TOKEN_MISSING: {
    title: 'Orchestrator started without a webhook token',
    message:
      'The failover orchestrator was started to act (not with --dry-run or --drill-clock) without --webhook-token-file: any caller that reaches it could post alerts and drain a DC, so it does not start.',
    hint: 'Mount the webhook token Secret traffic-alerts names (orchestrator.webhookTokenSecret) and pass --webhook-token-file; the rendered Deployment does both.',
  },
  ORCHESTRATOR_WEBHOOK_TOKEN_INVALID: {
    title: 'Webhook token file unusable',
    message:
      'The file given with --webhook-token-file cannot be read, is empty, is too large, or has a line that is not a token of 16 to 4096 visible ASCII characters. At start the process exits 2; later (a Secret deleted or rewritten badly) every webhook gets HTTP 503, which Alertmanager retries.',
    hint: 'Create the Secret with one token per line, e.g. kubectl create secret generic failover-orchestrator-webhook --from-literal=token="$(openssl rand -hex 32)", in the orchestrator namespace and the AlertmanagerConfig namespace.',
  },
  ORCHESTRATOR_WEBHOOK_UNAUTHENTICATED: {
    title: 'Webhook not authenticated (dry run or drill)',
    message: 'A warning: the orchestrator runs with --dry-run or --drill-clock and no --webhook-token-file, so POST /alerts accepts any caller.',
    hint: 'Pass --webhook-token-file outside a local dry run or drill.',
  },
  WEBHOOK_UNAUTHORIZED: {
    title: 'Webhook caller not authenticated',
    message:
      'A POST to the failover orchestrator (/alerts, or /v1/clock in a drill) had no Authorization: Bearer header or not the webhook token (HTTP 401). Nothing was received or decided; topoforge_failover_webhook_rejected_total counts it.',
    hint: "Give Alertmanager the token through the AlertmanagerConfig's httpConfig.authorization (traffic-alerts renders it); check that both copies of the Secret hold the same token.",
  },
  WEBHOOK_INVALID: {
    title: 'Webhook payload invalid',
    message: 'The failover orchestrator received a body that is not an Alertmanager webhook v4 payload (HTTP 400).',
    hint: "Point only Alertmanager's webhook receiver at the orchestrator.",
  },
  CLOCK_INVALID: {
    title: 'Time not understood',
    message: 'A request to the failover orchestrator gave a time that is not an ISO 8601 time (HTTP 400).',
    hint: 'Send now as an ISO time, e.g. 2026-03-29T09:54:00Z.',
  },
  SESSION_CACHE_SETTINGS_INVALID: {
    title: 'Session cache settings invalid',
    message: "The session-cache library's settings (SESSION_CACHE_* variables from the rendered ConfigMap) are missing or malformed.",
    hint: 'Mount the session-cache ConfigMap with envFrom and the password from its Secret.',
  },
  // --- libraries ---------------------------------------------------------------------------
  CRON_PARSE_ERROR: {
    title: 'Cron expression invalid',
    message: 'A schedule is not a cron expression robfig/cron (what Velero uses) accepts.',
    hint: 'Use five fields (minute hour day month weekday), optionally with CRON_TZ=.',
  },
  YAML_EMIT_UNSUPPORTED_VALUE: {
    title: 'Value cannot be written as YAML',
    message: 'An emitted object holds a value the YAML emitter does not write (a function, a symbol, a non-finite number, a cycle).',
    hint: 'Emit plain JSON values only.',
  },
} as const satisfies Record<string, ErrorData>;

export type ErrorCode = keyof typeof ERRORS;
