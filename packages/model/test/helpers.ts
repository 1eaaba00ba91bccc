import { loadEnvironment, formatDiagnostic, type Diagnostic, type Environment } from '../src/index.js';

/** Loads `env.yaml` from an in-memory tree of files. */
export function loadTree(files: Record<string, string>, entry = 'env.yaml'): { env?: Environment; errors: Diagnostic[]; text: string } {
  const r = loadEnvironment(entry, {
    cwd: '/t',
    readFile: (p) => {
      const key = p.replace(/^\/t\//, '');
      const c = files[key];
      if (c === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      return c;
    },
  });
  return r.ok ? { env: r.value, errors: [], text: '' } : { errors: [...r.diagnostics], text: r.diagnostics.map(formatDiagnostic).join('\n') };
}

export const REGIONS = `
regions:
  north: { timeZone: Europe/Oslo, businessUnits: [warehouses] }
  south: { timeZone: Europe/Rome, businessUnits: [couriers] }
  east:  { timeZone: Asia/Tokyo, businessUnits: [] }
`;
export const DCS = `
dataCenters:
  n1: { region: north, rotation: 1, cluster: { context: n1 }, backupStorage: { provider: aws, bucket: n1-backups } }
  s1: { region: south, rotation: 2, cluster: { context: s1 }, backupStorage: { provider: aws, bucket: s1-backups } }
  e1: { region: east,  rotation: 3, cluster: { context: e1 }, backupStorage: { provider: aws, bucket: e1-backups } }
`;
export const SERVICES = `
services:
  social: { kind: social-network, image: r/social, version: "1.0.0" }
  stock: { kind: warehouse, image: r/stock, version: "1.0.0" }
  delivery: { kind: logistics, image: r/delivery, version: "1.0.0" }
`;
export const valid = (extra = '', stage = 'production') => `kind: Environment
name: prod
stage: ${stage}
${REGIONS}${DCS}${SERVICES}${extra}`;
