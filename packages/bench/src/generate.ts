/**
 * A synthetic topology generator: `dcs` DCs in `regions` regions, `services` services
 * (a mix of client-facing and regional kinds), as environment YAML text.
 */
export interface Scale {
  readonly dcs: number;
  readonly regions: number;
  readonly services: number;
}

/** How the synthetic plugin is enabled: by path (a plugin package outside the CLI), with its options. */
export interface SyntheticPluginUse {
  /** Absolute path of the plugin's entry file (dist/synthetic-plugin.js). */
  readonly package: string;
  readonly perService: number;
  /** Written into every object's annotation: changing it changes every object. */
  readonly note?: string;
}

export interface EnvironmentOptions {
  /** Without it, `plugins: { synthetic: {} }` (the in-process phase bench gives the plugin in code). */
  readonly plugin?: SyntheticPluginUse;
  /** Per-service version overrides (`svc000` → `1.0.1`): a one-service change. */
  readonly versions?: Readonly<Record<string, string>>;
}

const pad = (n: number, w = 3) => String(n).padStart(w, '0');

export const serviceName = (s: number): string => `svc${pad(s)}`;

export function syntheticEnvironment(scale: Scale, opts: EnvironmentOptions = {}): string {
  const zones = ['Europe/Lisbon', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'Asia/Tokyo', 'Asia/Kolkata', 'UTC'];
  const lines = ['kind: Environment', 'name: synthetic', 'stage: production', 'regions:'];
  for (let r = 0; r < scale.regions; r++) {
    const units = r % 3 === 0 ? '[warehouses, couriers]' : r % 3 === 1 ? '[couriers]' : '[]';
    lines.push(`  r${pad(r)}: { timeZone: ${zones[r % zones.length]}, businessUnits: ${units} }`);
  }
  lines.push('dataCenters:');
  for (let d = 0; d < scale.dcs; d++) {
    lines.push(
      `  dc${pad(d)}: { region: r${pad(d % scale.regions)}, rotation: ${d + 1}, cluster: { context: ctx-${d} }, backupStorage: { provider: aws, bucket: b-${d} } }`,
    );
  }
  lines.push('services:');
  const kinds = ['social-network', 'telemetry', 'online-store', 'front-application', 'warehouse', 'logistics'];
  for (let s = 0; s < scale.services; s++) {
    const name = serviceName(s);
    const version = opts.versions?.[name] ?? `1.${s}.0`;
    lines.push(`  ${name}: { kind: ${kinds[s % kinds.length]}, image: registry.example.com/${name}, version: "${version}" }`);
  }
  const p = opts.plugin;
  if (p) {
    const options = [`perService: ${p.perService}`, ...(p.note !== undefined ? [`note: ${JSON.stringify(p.note)}`] : [])];
    lines.push('plugins:', '  synthetic:', `    package: ${JSON.stringify(p.package)}`, `    options: { ${options.join(', ')} }`);
  } else lines.push('plugins:', '  synthetic: {}');
  return lines.join('\n') + '\n';
}

/** The shape that makes about `target` objects: ~3/4 of the services run in each DC. */
export function scaleFor(target: number): Scale & { readonly perService: number } {
  const dcs = Math.max(4, Math.round(Math.sqrt(target / 10) / 2));
  const services = 30;
  const perService = Math.max(1, Math.round(target / (dcs * services * 0.75)));
  return { dcs, regions: Math.max(2, Math.round(dcs / 3)), services, perService };
}
