/**
 * The reference plugin: one Namespace per service in every DC cluster where the service
 * runs, so that every other plugin's namespaced objects have somewhere to live.
 */
import { definePlugin, LABEL_RECOVERY_PRIORITY, Type } from '@topoforge/plugin-sdk';

export default definePlugin({
  name: 'namespaces',
  description: "Each service's Namespace in every DC where the service runs.",
  options: Type.Object(
    {
      labels: Type.Record(Type.String(), Type.String(), { default: {}, description: 'extra labels for every namespace' }),
    },
    { additionalProperties: false },
  ),
  render(ctx) {
    for (const dc of ctx.env.dataCenters) {
      for (const name of dc.services) {
        const service = ctx.env.services.find((s) => s.name === name)!;
        ctx.object(
          { dc: dc.name },
          {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name: service.namespace, labels: { ...ctx.options.labels, [LABEL_RECOVERY_PRIORITY]: String(service.recoveryPriority) } },
          },
          { service: service.name },
        );
      }
    }
  },
});
