/**
 * `pnpm bench`: renders synthetic topologies at growing scale and reports wall time and
 * peak memory per phase, beside the floor of JSON.stringify + write of the same objects
 * (and, for reference, the `yaml` and `js-yaml` libraries' stringify alone).
 * Usage: node dist/run.js [--objects 100000] [--md docs/benchmarks.md]
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { stringify as yamlStringify } from 'yaml';
import jsYaml from 'js-yaml';
import { loadEnvironment, formatDiagnostic } from '@topoforge/model';
import { runPlugins, type PluginDefinition, type EmittedObject } from '@topoforge/plugin-sdk';
import { writeFiles, writeTree } from '@topoforge/engine';
import { toYaml } from '@topoforge/yaml-emit';
import { syntheticEnvironment } from './generate.js';
import { syntheticPlugin } from './plugin.js';

interface Phase {
  name: string;
  ms: number;
  peakRssMb: number;
}

const peakMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

async function time<T>(phases: Phase[], name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = performance.now();
  const v = await fn();
  phases.push({ name, ms: Math.round(performance.now() - t0), peakRssMb: peakMb() });
  return v;
}

async function bench(target: number): Promise<{ objects: number; phases: Phase[]; floorMs: number; serializeWriteMs: number; libs: Record<string, number> }> {
  // ~1/3 of services run everywhere; choose DCs x services x perService ≈ target.
  const dcs = Math.max(4, Math.round(Math.sqrt(target / 10) / 2));
  const services = 30;
  const perService = Math.max(1, Math.round(target / (dcs * services * 0.75)));
  const scratch = mkdtempSync(join(tmpdir(), 'topoforge-bench-'));
  const phases: Phase[] = [];
  try {
    const text = syntheticEnvironment({ dcs, regions: Math.max(2, Math.round(dcs / 3)), services });
    const env = await time(phases, 'load + validate + resolve', () => {
      const r = loadEnvironment('synthetic.yaml', { cwd: scratch, readFile: () => text });
      if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
      return r.value;
    });
    const plugin = syntheticPlugin(perService) as PluginDefinition<never>;
    const result = await time(phases, 'plugins + serialize (YAML)', async () => {
      const r = await runPlugins(env, [{ definition: plugin, use: { name: 'synthetic', package: 'bench', options: {} } }]);
      if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
      return r.value;
    });
    const objects = result.emitted.filter((e): e is EmittedObject => e.type === 'object').map((e) => e.object);
    // The floor first, then ours, then the floor again: the first writer of a tree pays for
    // block allocation, so the smaller floor is kept (the comparison never flatters us).
    const floor = (tag: string): number => {
      const t0 = performance.now();
      const json = objects.map((o) => JSON.stringify(o));
      writeFiles(
        join(scratch, `floor-${tag}`),
        result.emitted.map((e, i) => [e.path, json[i]!] as [string, string]),
      );
      return Math.round(performance.now() - t0);
    };
    const floorBefore = floor('a');
    const serialized = await time(phases, 'serialize only (topoforge yaml-emit)', () => objects.map((o) => toYaml(o)));
    await time(phases, 'write tree (atomic, with index)', () => writeTree(join(scratch, 'out'), [result]));
    const serializeMs = phases[phases.length - 2]!.ms;
    const writeMs = phases[phases.length - 1]!.ms;
    const floorMs = Math.min(floorBefore, floor('b'));
    phases.push({ name: 'floor: JSON.stringify + write (best of 2)', ms: floorMs, peakRssMb: peakMb() });

    const libs: Record<string, number> = {};
    const sample = objects.slice(0, Math.min(objects.length, 20000));
    const scale = objects.length / sample.length;
    for (const [name, fn] of [
      ['JSON.stringify', (o: unknown) => JSON.stringify(o)],
      ['topoforge yaml-emit', (o: unknown) => toYaml(o)],
      ['js-yaml dump (sortKeys)', (o: unknown) => jsYaml.dump(o, { sortKeys: true, lineWidth: -1 })],
      ['yaml stringify (sortMapEntries)', (o: unknown) => yamlStringify(o, { sortMapEntries: true, lineWidth: 0 })],
    ] as const) {
      const t0 = performance.now();
      for (const o of sample) fn(o);
      libs[name] = Math.round((performance.now() - t0) * scale);
    }
    void serialized;
    return { objects: objects.length, phases, floorMs, serializeWriteMs: serializeMs + writeMs, libs };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { objects: { type: 'string', multiple: true }, md: { type: 'string' } } });
  const targets = (values.objects ?? ['1000', '10000', '100000']).map(Number);
  const sections: string[] = [];
  for (const t of targets) {
    const r = await bench(t);
    const ratio = (r.serializeWriteMs / r.floorMs).toFixed(2);
    const lines = [
      `### ${r.objects.toLocaleString('en-US')} objects`,
      '',
      '| phase | wall ms | peak RSS MB (process so far) |',
      '|---|---:|---:|',
      ...r.phases.map((p) => `| ${p.name} | ${p.ms} | ${p.peakRssMb} |`),
      '',
      `serialize + write = ${r.serializeWriteMs} ms vs floor ${r.floorMs} ms → **${ratio}× the floor** (target ≤ 2×)`,
      '',
      '| serializer alone (same objects) | ms | × JSON.stringify |',
      '|---|---:|---:|',
      ...Object.entries(r.libs).map(([k, v]) => `| ${k} | ${v} | ${(v / Math.max(1, r.libs['JSON.stringify']!)).toFixed(1)} |`),
      '',
    ];
    sections.push(lines.join('\n'));
    process.stdout.write(lines.join('\n') + '\n');
  }
  if (values.md) {
    const header = [
      '# Benchmarks',
      '',
      `Measured with \`pnpm bench\` (packages/bench) on ${process.platform}/${process.arch}, Node ${process.version}, ${os.cpus().length} cores. Numbers vary by machine and load; the ratios are what matter.`,
      '',
      'The synthetic topology generator (packages/bench/src/generate.ts) makes DCs, regions and',
      'services at any scale; a synthetic plugin emits Deployment-sized objects per service per DC.',
      'Phases: loading (parse, validate, resolve), running plugins (which also serializes to YAML),',
      'serializing alone, and writing the owned tree atomically with its index — beside the floor of',
      '`JSON.stringify` + write of the same objects to the same paths.',
      '',
      '**Target: serialize + write within 2× the floor at 100k objects.** That is why YAML emission is',
      "our own (packages/yaml-emit): the `yaml` library's stringify alone is ~40–60× JSON.stringify",
      'and js-yaml ~10–16× on these objects (tables below), while the emitter, which only has to handle',
      'JSON-shaped data, stays readable (block style, sorted keys, literal blocks) and is round-trip',
      'tested against the `yaml` parser. Building the output as parts joined once measured 2× faster and',
      '3× less heap than appending to one string (V8 ropes) at 100k objects.',
      '',
      '',
    ].join('\n');
    // Sections measured by other means (e.g. `pulumi up` on sandbox clusters) follow this marker and are kept.
    const marker = '<!-- kept by pnpm bench: measured elsewhere -->';
    const old = existsSync(values.md) ? readFileSync(values.md, 'utf8') : '';
    const kept = old.includes(marker) ? `\n${old.slice(old.indexOf(marker))}` : '';
    writeFileSync(values.md, header + sections.join('\n') + kept);
  }
}

await main();
