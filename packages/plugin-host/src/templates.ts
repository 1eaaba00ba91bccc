/**
 * Handlebars for text templates, in strict mode (a missing field is an error, not an
 * empty string) and without HTML escaping (the output is YAML, TypeScript or config).
 */
import Handlebars from '@topoforge/bundled-deps/handlebars'; // one module, not 57
import { toYaml } from '@topoforge/yaml-emit';

const hb = Handlebars.create();
hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
hb.registerHelper('yaml', (v: unknown) => toYaml(v).trimEnd());
hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
hb.registerHelper('indent', (n: number, text: string) =>
  String(text)
    .split('\n')
    .map((l) => (l ? ' '.repeat(n) + l : l))
    .join('\n'),
);

const compiled = new Map<string, Handlebars.TemplateDelegate>();

export function renderTemplate(source: string, data: unknown): string {
  let t = compiled.get(source);
  if (!t) {
    t = hb.compile(source, { strict: true, noEscape: true });
    compiled.set(source, t);
  }
  return t(data);
}
