/**
 * Checks the envelope of something a module exported as a plugin: the type tag, the
 * contract version (with how to migrate), the name and the render hook.
 */
import type { Diagnostic, PluginUse } from '@topoforge/model';
import { CONTRACT_VERSION, PLUGIN_TYPE, type PluginDefinition } from '@topoforge/plugin-contract';

const MIGRATE_V1 =
  'contract v2 (topoforge 0.2): rebuild the plugin against @topoforge/plugin-contract (or @topoforge/plugin-sdk) 0.2 — definePlugin stamps contract 2; ' +
  'declare the policy groups it reads under `policies` with their schemas and move cross-field input rules from render into `check` (see docs/plugins.md, "Contract versions")';

export function checkDefinition(value: unknown, use: Pick<PluginUse, 'name' | 'package' | 'position'>): Diagnostic[] {
  const where = use.position ? { position: use.position } : {};
  const v = value as Partial<PluginDefinition> | null;
  const bad = (code: Diagnostic['code'], message: string, hint?: string): Diagnostic[] => [
    { code, plugin: use.name, message, ...(hint ? { hint } : {}), ...where },
  ];
  if (!v || typeof v !== 'object' || v.$$type !== PLUGIN_TYPE) {
    return bad(
      'PLUGIN_INVALID_DEFINITION',
      `${use.package} does not export a topoforge plugin`,
      'export default definePlugin({...}) from @topoforge/plugin-contract',
    );
  }
  if (typeof v.contract !== 'number') {
    return bad(
      'PLUGIN_CONTRACT_VERSION',
      `${use.package} declares no plugin contract version; this topoforge speaks v${CONTRACT_VERSION}`,
      'make the plugin with definePlugin() from @topoforge/plugin-contract, which stamps the version',
    );
  }
  if (v.contract !== CONTRACT_VERSION) {
    const hint =
      v.contract === 1
        ? `migrate to ${MIGRATE_V1}`
        : v.contract > CONTRACT_VERSION
          ? 'upgrade topoforge to a version that speaks this contract'
          : 'rebuild the plugin against the current @topoforge/plugin-contract';
    return bad('PLUGIN_CONTRACT_VERSION', `${use.package} was built for plugin contract v${v.contract}; this topoforge speaks v${CONTRACT_VERSION}`, hint);
  }
  if (v.name !== use.name) {
    return bad(
      'PLUGIN_INVALID_DEFINITION',
      `${use.package} calls itself "${String(v.name)}" but is configured as "${use.name}"`,
      `use the key "${String(v.name)}" under plugins`,
    );
  }
  if (!v.hooks || (typeof v.hooks.render !== 'function' && typeof v.hooks.renderService !== 'function'))
    return bad('PLUGIN_INVALID_DEFINITION', `${use.package} has no render hook (render or renderService)`);
  if (typeof v.policies !== 'object' || v.policies === null || !Array.isArray(v.review)) {
    return bad(
      'PLUGIN_INVALID_DEFINITION',
      `${use.package} lacks the contract v2 fields "policies" and "review"`,
      'make the plugin with definePlugin() rather than by hand',
    );
  }
  return [];
}
