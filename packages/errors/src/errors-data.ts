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
  TOPOLOGY_FILE_UNREADABLE: { title: 'Topology file unreadable', message: 'An environment file or the environments directory could not be read.', hint: 'Check the path given with --environments and the file permissions.' },
  TOPOLOGY_YAML_SYNTAX: { title: 'YAML syntax error', message: 'A topology file is not valid YAML.', hint: 'Fix the YAML at the position shown (indentation, quotes, a missing colon).' },
  TOPOLOGY_EXTENDS_CYCLE: { title: 'extends forms a cycle', message: 'Files extend each other in a loop, so there is no base to start from.', hint: 'An environment extends a base; a base must not extend the environment.' },
  TOPOLOGY_EXTENDS_NOT_FOUND: { title: 'extends names a missing file', message: 'The file named by `extends` does not exist.', hint: '`extends` is relative to the file that names it.' },
  TOPOLOGY_UNKNOWN_KEY: { title: 'Unknown key', message: 'A key is not part of the schema (the topology, a plugin\'s options or a plugin\'s policy group), often a misspelling.', hint: 'Use the suggested key, or remove it.' },
  TOPOLOGY_INVALID_VALUE: { title: 'Invalid value', message: 'A value has the wrong type, is out of range, or breaks a rule of the model or of a policy group\'s schema.', hint: 'Change the value at the position shown; the hint names what is expected.' },
  TOPOLOGY_MISSING_FIELD: { title: 'Missing field', message: 'A required field is absent.', hint: 'Add the field; the hint says what it holds.' },
  TOPOLOGY_INVALID_NAME: { title: 'Invalid name', message: 'A name used in Kubernetes objects or paths is not a DNS-1123 label.', hint: 'Use lower-case letters, digits and "-", starting and ending with a letter or digit, at most 63 characters.' },
  TOPOLOGY_UNKNOWN_REFERENCE: { title: 'Unknown reference', message: 'A name refers to a region, DC, service kind, environment, policy or policy group that is not defined.', hint: 'Use the suggested name or define it first.' },
  TOPOLOGY_UNKNOWN_TIME_ZONE: { title: 'Unknown time zone', message: 'A region\'s time zone is not an IANA time zone.', hint: 'Use a name such as Europe/Berlin or America/New_York.' },
  TOPOLOGY_ROTATION_INVALID: { title: 'Backup rotation invalid', message: 'DC rotation positions must be 1..N without gaps or duplicates, so that day d goes to DC ((d-1) mod N)+1.', hint: 'Give each DC its own position from 1 to the number of DCs.' },
  TOPOLOGY_PLACEMENT_INVALID: { title: 'Placement invalid', message: 'A regional service is placed in a DC whose region lacks its business unit, or has nowhere to run.', hint: 'Place it where its business unit exists, or remove it from this environment.' },
  TOPOLOGY_REDUNDANCY: { title: 'Not enough redundancy', message: 'In production a client-facing service must run in at least 2 DCs across at least 2 regions.', hint: 'Widen placement.dataCenters, or remove it to run everywhere.' },
  TOPOLOGY_DUPLICATE_ENVIRONMENT: { title: 'Duplicate environment', message: 'Two files define an environment of the same name.', hint: 'Environment names must be unique in the directory.' },
  TOPOLOGY_NO_ENVIRONMENTS: { title: 'No environments', message: 'The environments directory has no file with `kind: Environment`.', hint: 'An environment file starts with kind: Environment.' },
  // --- plugins --------------------------------------------------------------------------
  PLUGIN_NOT_FOUND: { title: 'Plugin not found', message: 'The package or path an environment names under `plugins:` cannot be resolved.', hint: 'Install the package beside the environments (or in the workspace), or set plugins.<name>.package to the plugin\'s directory.' },
  PLUGIN_IMPORT_FAILED: { title: 'Plugin import failed', message: 'The plugin was found but importing it failed: usually its own dependencies are not installed, or it was not built.', hint: 'Run npm install and npm run build in the plugin\'s directory.' },
  PLUGIN_INVALID_DEFINITION: { title: 'Not a topoforge plugin', message: 'The module does not export a plugin made by definePlugin, its name differs from its key, or it lacks a render hook.', hint: 'export default definePlugin({...}) from @topoforge/plugin-contract, named as its key under plugins:.' },
  PLUGIN_CONTRACT_VERSION: { title: 'Plugin contract version', message: 'The plugin was built for another plugin contract version than this topoforge speaks (or declares none).', hint: 'Rebuild the plugin with the current @topoforge/plugin-contract; the message says how to migrate from v1.' },
  PLUGIN_DUPLICATE_NAME: { title: 'Duplicate plugin name', message: 'Two plugins have the same name.', hint: 'Plugin names must be unique.' },
  PLUGIN_INVALID_OPTIONS: { title: 'Invalid plugin options', message: 'A plugin\'s options do not match its options schema.', hint: 'Fix plugins.<name>.options at the position shown.' },
  PLUGIN_ORDER_CYCLE: { title: 'Plugins wait for each other', message: 'The `after` declarations of plugins form a cycle.', hint: 'Remove one of the after declarations.' },
  PLUGIN_UNKNOWN_DEPENDENCY: { title: 'Unknown plugin in after', message: 'A plugin runs after a plugin that is not enabled in the environment (a typo, or a plugin switched off).', hint: 'Use the suggested name, enable that plugin, or write "name?" to run after it only when it is enabled.' },
  PLUGIN_UNKNOWN_POLICY_GROUP: { title: 'Policy group without a plugin', message: 'Policies of a group are defined or referenced, but no enabled plugin declares that group.', hint: 'Use the suggested group name, or enable the plugin that declares it.' },
  PLUGIN_POLICY_GROUP_CONFLICT: { title: 'Policy group declared twice', message: 'Two plugins (or a plugin and the model) declare the same policy group.', hint: 'A policy group has one owner; rename one of them.' },
  PLUGIN_THREW: { title: 'Plugin threw', message: 'A plugin hook threw an exception, a bug in the plugin (writing to the frozen model also throws).', hint: 'Report input problems with ctx.error() instead of throwing; never modify ctx.env.' },
  PLUGIN_PATH_CONFLICT: { title: 'Output path taken', message: 'A plugin writes a path that it or another plugin already wrote.', hint: 'Give each output its own path (e.g. include the DC or service name).' },
  PLUGIN_PATH_ESCAPE: { title: 'Output path not allowed', message: 'A plugin writes outside the environment directory, over the index, or with characters a path may not hold.', hint: 'Emit relative paths of [A-Za-z0-9._-] segments.' },
  PLUGIN_INVALID_OBJECT: { title: 'Invalid emitted object', message: 'A plugin emitted an object without apiVersion, kind and metadata.name, for an unknown DC or service, or one that cannot be serialized.', hint: 'Every Kubernetes object needs apiVersion, kind and metadata.name.' },
  PLUGIN_TEMPLATE_ERROR: { title: 'Template failed', message: 'A handlebars template used a field its data does not have (templates are strict).', hint: 'Give the template every field it uses.' },
  PLUGIN_VALIDATION_FAILED: { title: 'Plugin rejected the input', message: 'A plugin\'s check or render reported a problem with the model or its options.', hint: 'Change the field the message names.' },
  // --- render ---------------------------------------------------------------------------
  RENDER_LAYOUT_INVALID: { title: 'Output breaks the GitOps layout', message: 'A file under clusters/<dc>/ is not only Kubernetes objects, or one object appears twice in a DC; Flux and Argo CD apply everything there. Nothing was written.', hint: 'Emit other files outside clusters/, and one object per DC.' },
  RENDER_CRD_INVALID: { title: 'Object does not match its CRD', message: 'An emitted custom resource fails the openAPIV3Schema of its CustomResourceDefinition (from --crds or TOPOFORGE_CRDS), or a CRD directory is missing. Nothing was written.', hint: 'Fix the object the plugin emits; the CRD is what the API server accepts.' },
  RENDER_WRITE_FAILED: { title: 'Cannot write the output', message: 'Writing the output tree failed.', hint: 'The previous output was left as it was; check the disk and permissions.' },
  // --- gitops ---------------------------------------------------------------------------
  GITOPS_LAYOUT: { title: 'Tree breaks the GitOps layout', message: 'A rendered tree to publish or compare has a file under clusters/<dc>/ that is not Kubernetes objects, or a duplicate object in a DC.', hint: 'Render with the current topoforge (render validates the layout) and publish that.' },
  GITOPS_GIT_FAILED: { title: 'git failed', message: 'A git command (clone, checkout, commit, push) failed.', hint: 'Read git\'s message; when a push was rejected, publish again.' },
  GITOPS_UNKNOWN_REF: { title: 'Unknown git ref', message: '--base names no commit.', hint: 'Fetch it first (git fetch origin main, or fetch-depth: 0 in CI).' },
  GITOPS_DIRTY_REPOSITORY: { title: 'Repository has local changes', message: 'The GitOps work tree has uncommitted or staged changes in directories topoforge owns.', hint: 'Commit or discard them first.' },
  GITOPS_NOTHING_TO_COMPARE: { title: 'Nothing to compare', message: 'The directory given to --against does not exist or holds no rendered environment.', hint: 'Check out the GitOps repository there, or render into it first.' },
  // --- promote --------------------------------------------------------------------------
  PROMOTE_NOT_VERIFIED: { title: 'Version not verified', message: 'A version was never recorded as passing the test stand.', hint: 'Run it through staging (topoforge verify records it) before promoting.' },
  PROMOTE_VERSION_MISMATCH: { title: 'Version mismatch', message: 'The environments and the ledger disagree about a service version, or a service or environment is unknown.', hint: 'Promote from the test stand, or fix the named file.' },
  PROMOTE_LEDGER_INVALID: { title: 'Ledger invalid', message: 'The ledger of verified versions cannot be read or has an invalid entry.', hint: 'Fix or regenerate environments/verified/<env>.yaml.' },
} as const satisfies Record<string, ErrorData>;

export type ErrorCode = keyof typeof ERRORS;
