// Runs a compiled topoforge Pulumi program under Pulumi's own mocks and prints the
// resource graph as JSON. Usage: node mock-harness.cjs <program.js> <project> <stack> <contexts-json>
const [program, project, stack, contexts] = process.argv.slice(2);
process.env.PULUMI_CONFIG = JSON.stringify({ [`${project}:kubeContexts`]: contexts });
const pulumi = require('@pulumi/pulumi');
const yaml = require('yaml');

const resources = [];
pulumi.runtime
  .setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, provider: args.provider ?? null, custom: args.custom ?? null, kind: args.inputs && args.inputs.kind, objName: args.inputs && args.inputs.metadata && args.inputs.metadata.name });
        return { id: `${args.name}_id`, state: args.inputs };
      },
      call(args) {
        // k8s.yaml.ConfigFile (v1) asks the provider to decode the YAML; answer like it would.
        if (args.token === 'kubernetes:yaml:decode') {
          return { result: yaml.parseAllDocuments(args.inputs.text).map((d) => d.toJS()).filter(Boolean) };
        }
        return args.inputs;
      },
    },
    project,
    stack,
    false,
  )
  .then(async () => {
    const mod = require(program);
    const applyOrder = await new Promise((resolve) => pulumi.output(mod.applyOrder).apply(resolve));
    const objectsPerService = await new Promise((resolve) => pulumi.output(mod.objectsPerService).apply(resolve));
    // Let child registrations settle: wait until the count stops growing.
    let last = -1;
    while (last !== resources.length) {
      last = resources.length;
      await new Promise((r) => setTimeout(r, 200));
    }
    process.stdout.write(JSON.stringify({ resources, applyOrder, objectsPerService }));
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
