import { describe, expect, it } from 'vitest';
import { definePlugin, Type, type PluginDefinition } from '@topoforge/plugin-contract';
import { environmentFromYaml, synth, synthErrors } from '../src/index.js';
import { checkDefinition, orderPlugins } from '@topoforge/plugin-host';

const env = environmentFromYaml(
  `kind: Environment
name: t
stage: staging
extends: base.yaml
dataCenters:
  d1: { region: r, rotation: 1, cluster: { context: d1 }, backupStorage: { provider: aws, bucket: b-backups } }
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
    ctx.object(
      { environment: true },
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'hello', labels: { mine: 'yes' } },
        data: { text: `hello ${ctx.options.who} x${ctx.options.times}` },
      },
    );
  },
});

describe('definePlugin and the envelope', () => {
  it('wraps a plugin in a versioned envelope the host checks', () => {
    expect(hello).toMatchObject({ $$type: 'topoforge.plugin', contract: 2, name: 'hello', after: [], policies: {}, review: [] });
    const use = { name: 'hello', package: 'pkg-hello' };
    expect(checkDefinition(hello, use)).toEqual([]);
    expect(checkDefinition({ ...hello, contract: 3 }, use)[0]).toMatchObject({
      code: 'PLUGIN_CONTRACT_VERSION',
      message: expect.stringContaining('built for plugin contract v3'),
    });
    // a v1 plugin is told how to migrate; one without a version is told so, not "vundefined"
    const v1 = checkDefinition({ ...hello, contract: 1 }, use)[0]!;
    expect(v1).toMatchObject({ code: 'PLUGIN_CONTRACT_VERSION', message: 'pkg-hello was built for plugin contract v1; this topoforge speaks v2' });
    expect(v1.hint).toMatch(/^migrate to contract v2 .*definePlugin stamps contract 2.*`policies`.*`check`/);
    const { contract: _c, ...unversioned } = hello;
    const none = checkDefinition(unversioned, use)[0]!;
    expect(none.message).toBe('pkg-hello declares no plugin contract version; this topoforge speaks v2');
    expect(none.message).not.toContain('undefined');
    expect(checkDefinition({ name: 'hello' }, use)[0]!.code).toBe('PLUGIN_INVALID_DEFINITION');
    expect(checkDefinition(hello, { name: 'other', package: 'pkg-hello' })[0]!.message).toContain('calls itself "hello" but is configured as "other"');
  });

  it('orders plugins by after, then by name; * runs after all others', () => {
    const mk = (name: string, after: string[] | '*') => ({ definition: { ...hello, name, after } as PluginDefinition<never> });
    const { ordered, diagnostics } = orderPlugins([mk('last', '*'), mk('b', ['c']), mk('c', []), mk('a', ['optional-when-absent?'])]);
    expect(diagnostics).toEqual([]);
    expect(ordered.map((p) => p.definition.name)).toEqual(['a', 'c', 'b', 'last']);
  });

  it('a typo in after is PLUGIN_UNKNOWN_DEPENDENCY with a suggestion, not silently ignored', async () => {
    const reader = definePlugin({ name: 'reader', description: 'reads hello', after: ['helo'], options: Type.Object({}), render() {} });
    const errors = await synthErrors([hello, reader] as PluginDefinition<never>[], env, { hello: { who: 'x' } });
    expect(errors).toEqual([
      'error PLUGIN_UNKNOWN_DEPENDENCY: [t] [plugin reader] runs after "helo", which is not an enabled plugin\n    hint: did you mean "hello"?',
    ]);
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

  it("freezes what it hands to later plugins so one plugin cannot change another one's output", async () => {
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

  it('freezes the model: a plugin rewriting a service throws and the next plugin reads the original', async () => {
    const seen: string[] = [];
    const hijacker = definePlugin({
      name: 'hijacker',
      description: 'rewrites the model',
      options: Type.Object({}),
      render(ctx) {
        try {
          (ctx.env.services[0] as { version: string }).version = '9.9.9-hijacked';
        } catch (err) {
          seen.push((err as Error).constructor.name);
        }
      },
    });
    const reader = definePlugin({
      name: 'reader',
      description: 'reads',
      after: ['hijacker'],
      options: Type.Object({}),
      render: (ctx) => void seen.push(ctx.env.services[0]!.version),
    });
    await synth([hijacker, reader] as PluginDefinition<never>[], env);
    expect(seen).toEqual(['TypeError', '2.0.0']);
    expect(Object.isFrozen(env.services[0]!.policies)).toBe(true);
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
    expect(text).toBe(
      'base.yaml:5:42: error PLUGIN_VALIDATION_FAILED: [plugin strict] web is not allowed here (field services.web.image)\n    hint: remove it',
    );
  });
});
