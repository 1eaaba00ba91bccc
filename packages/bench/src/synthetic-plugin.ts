/**
 * The synthetic plugin as a plugin package of its own: what `topoforge render` loads by path
 * (`plugins.synthetic.package: <abs>/dist/synthetic-plugin.js`) in the whole-process bench.
 * `perService` objects per service per DC, from `renderService`; `note` goes into every object (changing it changes
 * every object).
 */
import { definePlugin, Type } from '@topoforge/plugin-sdk';
import { deployment } from './plugin.js';

export default definePlugin({
  name: 'synthetic',
  description: 'benchmark load: Deployment-sized objects per service per DC',
  options: Type.Object({ perService: Type.Integer({ minimum: 1, default: 1 }), note: Type.String({ default: '' }) }, { additionalProperties: false }),
  // Per service: a one-service change renders that service's objects only (the others are carried).
  renderService(ctx) {
    const svc = ctx.service;
    for (const dc of ctx.dataCenters) {
      for (let i = 0; i < ctx.options.perService; i++) ctx.object({ dc: dc.name }, deployment(svc.name, svc.image, svc.version, i, dc.name, ctx.options.note));
    }
  },
});
