// Runs a compiled topoforge Pulumi program under Pulumi's own mocks and prints the
// resource graph as JSON. Usage: node mock-harness.cjs <program.js> <project> <stack> <contexts-json>
//
// Besides what the mocks see (newResource), it records every RegisterResource request the SDK
// sends to the (mock) monitor: URN, parent, provider and dependsOn URNs, so the test can check
// the engine's invariants the mocks skip: URNs unique, every dependsOn target registered.
// yaml/v2 ConfigGroups are remote components (the provider creates their children), so the
// harness also derives each child's URN the way the provider names it
// (`<resourcePrefix>:<namespace>/<name>` under the group's type), from the group's files.
const fs = require('fs');
const path = require('path');
const [program, project, stack, contexts] = process.argv.slice(2);
process.env.PULUMI_CONFIG = JSON.stringify({ [`${project}:kubeContexts`]: contexts });
const pulumi = require('@pulumi/pulumi');
const settings = require('@pulumi/pulumi/runtime/settings');
const yaml = require('yaml');

const resources = [];
const registrations = [];
pulumi.runtime
  .setMocks(
    {
      newResource(args) {
        resources.push({ type: args.type, name: args.name, provider: args.provider ?? null, custom: args.custom ?? null, inputs: args.inputs });
        return { id: `${args.name}_id`, state: args.inputs };
      },
      call(args) {
        return args.inputs;
      },
    },
    project,
    stack,
    false,
  )
  .then(async () => {
    const monitor = settings.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) =>
      register(req, (err, resp) => {
        if (!err) {
          registrations.push({
            urn: resp.getUrn(),
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            provider: req.getProvider(),
            dependsOn: req.getDependenciesList(),
            remote: req.getRemote(),
          });
        }
        callback(err, resp);
      });
    const mod = require(program);
    const applyOrder = await new Promise((resolve) => pulumi.output(mod.applyOrder).apply(resolve));
    const objectsPerService = await new Promise((resolve) => pulumi.output(mod.objectsPerService).apply(resolve));
    // Let registrations settle: wait until the count stops growing.
    let last = -1;
    while (last !== registrations.length) {
      last = registrations.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    // The children the provider would register for each ConfigGroup.
    const projectDir = path.dirname(path.dirname(program)); // <project>/bin/index.js
    const children = [];
    for (const r of resources.filter((x) => x.type === 'kubernetes:yaml/v2:ConfigGroup')) {
      const group = registrations.find((g) => g.type === r.type && g.name === r.name);
      for (const f of r.inputs.files) {
        for (const doc of yaml.parseAllDocuments(fs.readFileSync(path.join(projectDir, f), 'utf8'))) {
          const o = doc.toJS();
          if (!o || !o.kind) continue;
          const [g, v] = o.apiVersion.includes('/') ? o.apiVersion.split('/') : ['core', o.apiVersion];
          const name = `${r.inputs.resourcePrefix}:${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
          children.push({
            group: r.name,
            groupUrn: group && group.urn,
            file: f,
            kind: o.kind,
            urn: `urn:pulumi:${stack}::${project}::${r.type}$kubernetes:${g}/${v}:${o.kind}::${name}`,
          });
        }
      }
    }
    process.stdout.write(JSON.stringify({ resources, registrations, children, applyOrder, objectsPerService }));
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
