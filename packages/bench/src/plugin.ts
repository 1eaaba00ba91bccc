import { definePlugin, Type } from '@topoforge/plugin-sdk';

/** Emits `perService` realistic Deployment-sized objects per service per DC. */
export const syntheticPlugin = (perService: number, note = '') =>
  definePlugin({
    name: 'synthetic',
    description: 'benchmark load',
    options: Type.Object({}),
    render(ctx) {
      for (const dc of ctx.env.dataCenters) {
        for (const name of dc.services) {
          const svc = ctx.env.services.find((s) => s.name === name)!;
          for (let i = 0; i < perService; i++)
            ctx.object({ dc: dc.name }, deployment(svc.name, svc.image, svc.version, i, dc.name, note), { service: svc.name });
        }
      }
    },
  });

export function deployment(service: string, image: string, version: string, i: number, dc: string, note = '') {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `${service}-part-${i}`, namespace: service, annotations: { 'topoforge.io/note': `part ${i} of ${service} in ${dc}${note}` } },
    spec: {
      selector: { matchLabels: { app: service, part: String(i) } },
      template: {
        metadata: { labels: { app: service, part: String(i) } },
        spec: {
          priorityClassName: 'topoforge-recovery-p1',
          containers: [
            {
              name: 'app',
              image: `${image}:${version}`,
              args: ['--listen=:8080', `--dc=${dc}`],
              ports: [{ containerPort: 8080, name: 'http' }],
              env: [
                { name: 'DC', value: dc },
                { name: 'PART', value: String(i) },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
              readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10 },
            },
          ],
        },
      },
    },
  };
}
