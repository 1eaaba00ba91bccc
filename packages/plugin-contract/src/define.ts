import type { Static, TSchema } from '@sinclair/typebox';
import { CONTRACT_VERSION, PLUGIN_TYPE, type PluginDefinition, type PluginSpec } from './types.js';

/**
 * Declares a plugin. The result is a versioned envelope so the host can refuse a plugin
 * built for another contract version with a clear message.
 */
export function definePlugin<S extends TSchema>(spec: PluginSpec<S>): PluginDefinition<Static<S>> {
  return {
    $$type: PLUGIN_TYPE,
    contract: CONTRACT_VERSION,
    name: spec.name,
    description: spec.description,
    after: spec.after ?? [],
    options: spec.options,
    policies: spec.policies ?? {},
    hooks: {
      ...(spec.render ? { render: spec.render } : {}),
      ...(spec.renderService ? { renderService: spec.renderService } : {}),
      ...(spec.check ? { check: spec.check } : {}),
      ...(spec.plan ? { plan: spec.plan } : {}),
    },
    review: spec.review ?? [],
  };
}
