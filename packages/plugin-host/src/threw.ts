import type { Diagnostic } from '@topoforge/model';

/** A hook that throws is a bug in the plugin: report it with the first stack frame. */
export function threw(plugin: string, hook: string, err: unknown): Diagnostic {
  const e = err as Error | undefined;
  const frame = (e?.stack ?? '')
    .split('\n')
    .find((l) => l.trim().startsWith('at '))
    ?.trim();
  return {
    code: 'PLUGIN_THREW',
    plugin,
    message: `threw during ${hook}: ${e?.message ?? String(err)}${frame ? ` (${frame})` : ''}`,
    hint: 'a bug in the plugin; report problems with ctx.error() instead of throwing',
  };
}
