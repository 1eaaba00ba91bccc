/**
 * What the flagger tests share: the plugins it is rendered with (the Ingresses and HPAs it reads
 * come from workloads), the bundled environments, and an inline environment whose canary policy
 * is unlike the bundled one (30 s interval), so that a hard-coded analysis or bound would show.
 */
import { fileURLToPath } from 'node:url';
import { loadEnvironments, formatDiagnostic, type Environment } from '@topoforge/model';
import { environmentFromYaml } from '@topoforge/plugin-sdk/testing';
import type { PluginDefinition } from '@topoforge/plugin-sdk';
import trafficAlerts from '@topoforge/plugin-traffic-alerts';
import workloads from '@topoforge/plugin-workloads';
import flagger from '../src/index.js';

export const all = [trafficAlerts, workloads, flagger] as unknown as PluginDefinition<never>[];

const loaded = loadEnvironments(fileURLToPath(new URL('../../../environments', import.meta.url)));
if (!loaded.ok) throw new Error(loaded.diagnostics.map(formatDiagnostic).join('\n'));
export const [production, staging] = ['production', 'staging'].map((n) => loaded.value.find((e) => e.name === n)!) as [Environment, Environment];

/** The inline environment; `moreServices`: YAML lines appended to its services. */
export const inlineEnvironment = (stage: 'staging' | 'production', moreServices = ''): Environment =>
  environmentFromYaml(`
kind: Environment
name: ${stage === 'staging' ? 'staging' : 'live'}
stage: ${stage}
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [] }
  south: { timeZone: Europe/Rome, businessUnits: [] }
dataCenters:
  a1: { region: north, rotation: 1, cluster: { context: a1 }, backupStorage: { provider: aws, bucket: b1-backups } }
  b1: { region: south, rotation: 2, cluster: { context: b1 }, backupStorage: { provider: aws, bucket: b2-backups } }
policies:
  canary:
    careful: { interval: 30s, threshold: 3, maxWeight: 40, stepWeight: 5, successRateMin: 98.5, durationMaxMs: 750 }
services:
  shop: { kind: online-store, image: r/shop, version: "2.1.0", port: 8080, rollout: canary, namespace: commerce, policies: { canary: careful }, workload: { host: shop.example.org } }
${moreServices}`);
