/**
 * Drill scenarios: YAML files describing per service × DC request rates over time. See
 * README.md ("Scenario format"). A bad file is a coded error naming the file, line and field.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

const Offset = Type.String({ pattern: '^-?([0-9]+(m|h|d))+$', description: 'time relative to the start of the live part, e.g. 10m, 1h30m, -1d' });
const Names = Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true });
const Span = { at: Offset, until: Type.Optional(Offset), dcs: Type.Optional(Names), services: Type.Optional(Names) };

export const ScenarioSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    description: Type.Optional(Type.String()),
    /** The environment the scenario is written for; checked against --env when present. */
    environment: Type.Optional(Type.String({ minLength: 1 })),
    /** UTC time of day the live part starts, on day 8 (after a week of history). */
    start: Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }),
    duration: Type.String({ pattern: '^([0-9]+(m|h))+$' }),
    traffic: Type.Object(
      {
        peakRps: Type.Number({ exclusiveMinimum: 0, default: 40 }),
        services: Type.Optional(
          Type.Record(Type.String(), Type.Number({ exclusiveMinimum: 0 }), { description: 'peak requests per second per DC, per service' }),
        ),
        shape: Type.Union([Type.Literal('business-day'), Type.Array(Type.Number({ minimum: 0 }), { minItems: 24, maxItems: 24 })], { default: 'business-day' }),
        timeZones: Type.Union([Type.Literal('utc'), Type.Literal('local')], {
          default: 'utc',
          description: "daily curve in UTC for every DC, or in each DC region's time zone",
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    events: Type.Array(
      Type.Union([
        Type.Object({ type: Type.Literal('scale'), factor: Type.Number({ minimum: 0 }), ...Span }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('shift'), minutes: Type.Integer(), ...Span }, { additionalProperties: false }),
        Type.Object(
          { type: Type.Literal('canary'), weight: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }), ...Span },
          { additionalProperties: false },
        ),
        Type.Object({ type: Type.Literal('vanish'), ...Span }, { additionalProperties: false }),
        Type.Object({ type: Type.Literal('probe-down'), ...Span }, { additionalProperties: false }),
      ]),
      { default: [] },
    ),
    expect: Type.Optional(
      Type.Object(
        {
          drained: Type.Optional(Type.Array(Type.Object({ dc: Type.String(), within: Offset }, { additionalProperties: false }))),
          restored: Type.Optional(Type.Array(Type.Object({ dc: Type.String() }, { additionalProperties: false }))),
          noAction: Type.Optional(Type.Boolean()),
          keepsServing: Type.Optional(Type.Array(Type.String(), { description: 'DCs that must never be drained' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type Scenario = Static<typeof ScenarioSchema>;

export class ScenarioError extends Error {
  constructor(
    readonly code: 'DRILL_SCENARIO_INVALID' | 'DRILL_SCENARIO_UNREADABLE',
    message: string,
  ) {
    super(message);
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validate = ajv.compile<Scenario>(ScenarioSchema);

/** Minutes of a signed offset such as `-1d`, `1h30m`. */
export function offsetMinutes(s: string): number {
  const sign = s.startsWith('-') ? -1 : 1;
  let total = 0;
  for (const m of s.matchAll(/(\d+)(m|h|d)/g)) total += Number(m[1]) * { m: 1, h: 60, d: 1440 }[m[2] as 'm' | 'h' | 'd'];
  return sign * total;
}

function nodeAt(doc: Node | null, path: readonly string[]): Node | null {
  let n: Node | null = doc;
  for (const p of path) {
    if (isMap(n)) n = (n.get(p, true) as Node | undefined) ?? null;
    else if (isSeq(n)) n = (n.get(Number(p), true) as Node | undefined) ?? null;
    else return n;
    if (!n) return null;
  }
  return n;
}

/** Parses and validates a scenario; `file` is used in messages only. */
export function parseScenario(text: string, file: string): Scenario {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw new ScenarioError('DRILL_SCENARIO_INVALID', `${file}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`);
  }
  const data = doc.toJS() as unknown;
  if (!validate(data)) {
    const problems = (validate.errors ?? []).filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'const');
    const first = problems[0] ?? validate.errors![0]!;
    const path = first.instancePath.split('/').slice(1);
    const node = nodeAt(doc.contents as Node | null, path);
    const pos = node?.range ? lc.linePos(node.range[0]) : { line: 1, col: 1 };
    const field = path.join('.') || '(root)';
    throw new ScenarioError(
      'DRILL_SCENARIO_INVALID',
      `${file}:${pos.line}:${pos.col}: field ${field} ${first.message ?? 'is invalid'}${first.params && 'additionalProperty' in first.params ? ` (${String(first.params.additionalProperty)})` : ''}`,
    );
  }
  return data;
}
