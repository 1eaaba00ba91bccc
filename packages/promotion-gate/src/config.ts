/**
 * The gate's configuration, `gate.yaml` in the `promotion-gate` ConfigMap that
 * plugins/flagger renders per DC: which canaries it answers for, and in which mode.
 */
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';

export const GateEntry = Type.Object({
  namespace: Type.String({ minLength: 1 }),
  canary: Type.String({ minLength: 1 }),
  service: Type.String({ minLength: 1 }),
  deployment: Type.String({ minLength: 1 }),
  container: Type.String({ minLength: 1 }),
  image: Type.String({ minLength: 1, description: 'image repository the Deployment must run (without tag)' }),
});
export type GateEntry = Static<typeof GateEntry>;

export const GateConfig = Type.Object({
  /** `gate` (production: decide from the ledger) or `record` (test stand: keep evidence). */
  mode: Type.Union([Type.Literal('gate'), Type.Literal('record')]),
  environment: Type.String({ minLength: 1 }),
  dc: Type.String({ minLength: 1 }),
  testStand: Type.String({ minLength: 1 }),
  ledger: Type.String({ minLength: 1 }),
  canaries: Type.Array(GateEntry),
});
export type GateConfig = Static<typeof GateConfig>;

export class ConfigError extends Error {
  readonly code = 'GATE_CONFIG_INVALID';
}

export function parseGateConfig(text: string, file: string): GateConfig {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: ${(err as Error).message}`);
  }
  const errors = [...Value.Errors(GateConfig, data)];
  if (errors.length) throw new ConfigError(`${file}: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`);
  return data as GateConfig;
}

export const readGateConfig = (file: string): GateConfig => parseGateConfig(readFileSync(file, 'utf8'), file);
