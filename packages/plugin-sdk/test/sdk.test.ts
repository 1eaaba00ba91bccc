import { describe, expect, it } from 'vitest';
import { checkDefinition, definePlugin, orderPlugins, Type, type PluginDefinition } from '../src/index.js';
import { environmentFromYaml, synth, synthErrors } from '../src/testing.js';

const env = environmentFromYaml(
  `kind: Environment
name: t
stage: staging
extends: base.yaml
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b } }
`,
  {
    'base.yaml': `kind: Base
regions:
  r: { timeZone: UTC, businessUnits: [] }
services:
  web: { kind: front-application, image: r/web, version: "2.0.0" }
plugins:
  hello: { options: { who: base } }
`,
  },
);

const hello = definePlugin({
  name: 'hello',
  description: 'says hello',
  options: Type.Object({ who: Type.String(), times: Type.Integer({ default: 2 }) }, { additionalProperties: false }),
  render(ctx) {
    ctx.object({ environment: true }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hello', labels: { mine: 'yes' } }, data: { text: `hello ${ctx.options.who} x${ctx.options.times}` } });
  },
});

describe('definePlugin and the envelope', () => {
  it('wraps a plugin in a versioned envelope the host checks', () => {
    expect(hello).toMatchObject({ $$type: 'topoforge.plugin', contract: 1, name: 'hello', after: [] });
    const use = { name: 'hello', package: 'pkg-hello' };
    expect(checkDefinition(hello, use)).toEqual([]);
    expect(checkDefinition({ ...hello, contract: 2 }, use)[0]).toMatchObject({ code: 'PLUGIN_CONTRACT_VERSION', message: expect.stringContaining('built for plugin contract v2') });
    expect(checkDefinition({ name: 'hello' }, use)[0]!.code).toBe('PLUGIN_INVALID_DEFINITION');
    expect(checkDefinition(hello, { name: 'other', package: 'pkg-hello' })[0]!.message).toContain('calls itself "hello" but is configured as "other"');
  });

  it('orders plugins by after, then by name; * runs after all others', () => {
    const mk = (name: string, after: string[] | '*') => ({ definition: { ...hello, name, after } as PluginDefinition<never> });
    const { ordered } = orderPlugins([mk('last', '*'), mk('b', ['c']), mk('c', []), mk('a', ['missing-is-ignored'])]);
    expect(ordered.map((p) => p.definition.name)).toEqual(['a', 'c', 'b', 'last']);
  });
});

describe('synth: an inline topology in, emitted objects out', () => {
  it('uses the environment options (inherited from a base) with schema defaults, and labels the object', async () => {
    const out = await synth(hello as PluginDefinition<never>, env);
    expect(out.objects('ConfigMap')[0]).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'hello', labels: { mine: 'yes', 'app.kubernetes.io/managed-by': 'topoforge', 'topoforge.io/environment': 't' } },
      data: { text: 'hello base x2' },
    });
    expect(out.text('environment/hello/configmap-hello.yaml')).toContain('text: hello base x2\n');
  });

  it('prefers options given to synth, and reports invalid ones with the plugin name', async () => {
    expect((await synth(hello as PluginDefinition<never>, env, { who: 'you', times: 3 })).objects()[0]!.data).toEqual({ text: 'hello you x3' });
    const errors = await synthErrors([hello as PluginDefinition<never>], env, { hello: { who: 1 } });
    expect(errors.join('\n')).toMatch(/^base\.yaml:7:\d+: error PLUGIN_INVALID_OPTIONS: \[plugin hello\] plugins\.hello\.options\.who must be string/);
  });

  it('freezes what it hands to later plugins so one plugin cannot change another one\'s output', async () => {
    const mutator = definePlugin({
      name: 'mutator',
      description: 'tries to edit',
      after: ['hello'],
      options: Type.Object({}),
      render(ctx) {
        const cm = ctx.emitted()[0]!;
        if (cm.type === 'object') (cm.object.metadata as { name: string }).name = 'hijacked';
      },
    });
    const errors = await synthErrors([hello, mutator] as PluginDefinition<never>[], env, { hello: { who: 'x' } });
    expect(errors.join('\n')).toContain('[plugin mutator] threw during render: Cannot assign to read only property');
  });

  it('reports ctx.error as a value with the field position in the environment file', async () => {
    const strict = definePlugin({
      name: 'strict',
      description: 'rejects',
      options: Type.Object({}),
      render(ctx) {
        ctx.error('web is not allowed here', { field: 'services.web.image', hint: 'remove it' });
      },
    });
    const [text] = await synthErrors([strict as PluginDefinition<never>], env);
    expect(text).toBe('base.yaml:5:42: error PLUGIN_VALIDATION_FAILED: [plugin strict] web is not allowed here (field services.web.image)\n    hint: remove it');
  });
});
