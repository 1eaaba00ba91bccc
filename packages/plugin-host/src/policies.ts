/**
 * Policy groups: the model resolves `services.<s>.policies.<group>: <name>` for any group;
 * the plugin that declares the group owns its schema. Here each definition is validated
 * against the owner's schema with the position of the offending field, and a group no
 * enabled plugin implements but whose name is close to one that is (a typo) is reported.
 */
import { checkSchema, escapePointer, locate, suggest, type Diagnostic, type Environment } from '@topoforge/model';
import type { LoadedPlugin } from './loaded.js';

export interface PolicyCheckOptions {
  /**
   * Report groups no given plugin owns. The engine passes every enabled plugin, so it
   * checks; the test harness runs a few plugins against a whole topology and does not.
   */
  readonly reportUnowned: boolean;
}

export function checkPolicies(env: Environment, plugins: readonly LoadedPlugin[], opts: PolicyCheckOptions): Diagnostic[] {
  const out: Diagnostic[] = [];
  // The model defines no group of its own: every group has exactly one plugin as owner.
  const owner = new Map<string, string>();
  for (const p of plugins) {
    for (const group of Object.keys(p.definition.policies)) {
      const prev = owner.get(group);
      if (prev !== undefined) {
        out.push({
          code: 'PLUGIN_POLICY_GROUP_CONFLICT',
          plugin: p.definition.name,
          message: `declares policy group "${group}", which plugin "${prev}" already declares`,
          hint: 'a policy group has one owner; rename the group',
        });
        continue;
      }
      owner.set(group, p.definition.name);
    }
  }
  for (const p of plugins) {
    for (const [group, schema] of Object.entries(p.definition.policies)) {
      if (owner.get(group) !== p.definition.name) continue;
      for (const policy of env.policies[group] ?? []) {
        const { name, ...data } = policy;
        out.push(
          ...checkSchema(schema, data, env.sourceMap, { basePointer: `/policies/${escapePointer(group)}/${escapePointer(name)}`, plugin: p.definition.name }),
        );
      }
    }
  }
  if (!opts.reportUnowned) return out;
  const known = [...owner.keys()];
  // A group nobody owns may belong to a plugin switched off in this environment: only a
  // near miss of a known group (a typo) is an error.
  const unowned = (group: string, pointer: string): void => {
    const guess = suggest(group, known);
    if (!guess) return;
    const position = locate(env.sourceMap, pointer, 'key');
    out.push({
      code: 'PLUGIN_UNKNOWN_POLICY_GROUP',
      message: `no enabled plugin implements policy group "${group}"`,
      field: pointer.slice(1).split('/').join('.'),
      hint: `did you mean "${guess}"? (or enable the plugin that declares "${group}")`,
      ...(position ? { position } : {}),
    });
  };
  for (const [group, list] of Object.entries(env.policies)) if (list.length > 0 && !owner.has(group)) unowned(group, `/policies/${escapePointer(group)}`);
  for (const s of env.services) {
    for (const group of Object.keys(s.policies)) if (!owner.has(group)) unowned(group, `/services/${escapePointer(s.name)}/policies/${escapePointer(group)}`);
  }
  return out;
}
