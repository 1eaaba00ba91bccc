/** Loading an environment from text in tests: only `/m/e.yaml` exists. */
import { formatDiagnostic, loadEnvironment, type Environment } from '@topoforge/model';

export function env(text: string): Environment {
  // Only e.yaml exists (a staging environment's ledger, verified/t.yaml, is absent).
  const r = loadEnvironment('e.yaml', {
    cwd: '/m',
    readFile: (p) => {
      if (p.split('\\').join('/') !== '/m/e.yaml') throw Object.assign(new Error(`ENOENT ${p}`), { code: 'ENOENT' });
      return text;
    },
  });
  if (!r.ok) throw new Error(r.diagnostics.map(formatDiagnostic).join('\n'));
  return r.value;
}
