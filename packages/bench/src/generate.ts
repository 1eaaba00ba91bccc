/**
 * A synthetic topology generator: `dcs` DCs in `regions` regions, `services` services
 * (a mix of client-facing and regional kinds), as environment YAML text.
 */
export interface Scale {
  readonly dcs: number;
  readonly regions: number;
  readonly services: number;
}

const pad = (n: number, w = 3) => String(n).padStart(w, '0');

export function syntheticEnvironment(scale: Scale): string {
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
    lines.push(`  svc${pad(s)}: { kind: ${kinds[s % kinds.length]}, image: registry.example.com/svc${pad(s)}, version: "1.${s}.0" }`);
  }
  lines.push('plugins:', '  synthetic: {}');
  return lines.join('\n') + '\n';
}
