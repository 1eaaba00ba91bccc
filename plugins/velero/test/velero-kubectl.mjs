#!/usr/bin/env node
// A stand-in for the `velero` CLI (v1.18) in test/dc-loss-sandbox.test.ts: the two commands the
// DC-loss procedures use, as the same API changes, made with kubectl (on PATH, KUBECONFIG set):
//
//   velero -n NS schedule pause|unpause -l SELECTOR [--skip-immediately=true]
//     velero's runPause (pkg/cmd/cli/schedule/pause.go): list the Schedules the selector
//     matches; skip those already in that state; set spec.paused and spec.skipImmediately
//     (unset when the flag is not given) on the others.
//   velero -n NS backup create NAME --from-schedule SCHEDULE
//     velero's BackupBuilder.FromSchedule (pkg/builder/backup_builder.go): a Backup whose spec is
//     the Schedule's spec.template, labels the template's (else the Schedule's) plus
//     velero.io/schedule-name, annotations the Schedule's.
//
// The real CLI is used instead when TOPOFORGE_VELERO_CLI names it (README, "Losing a DC").
import { spawnSync } from 'node:child_process';

const kubectl = (args, input) => {
  const r = spawnSync('kubectl', args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) {
    process.stderr.write(`kubectl ${args.join(' ')}: ${r.stderr}`);
    process.exit(r.status ?? 1);
  }
  return r.stdout;
};
const fail = (msg) => {
  process.stderr.write(`velero (kubectl stand-in): ${msg}\n`);
  process.exit(2);
};

const argv = process.argv.slice(2);
if (argv[0] !== '-n' || !argv[1]) fail(`expected -n NAMESPACE first: ${argv.join(' ')}`);
const ns = argv[1];
const [group, verb, ...rest] = argv.slice(2);

if (group === 'schedule' && (verb === 'pause' || verb === 'unpause')) {
  if (rest[0] !== '-l' || !rest[1]) fail(`expected -l SELECTOR: ${rest.join(' ')}`);
  const extra = rest.slice(2);
  if (extra.some((a) => a !== '--skip-immediately=true')) fail(`unsupported flags: ${extra.join(' ')}`);
  const paused = verb === 'pause';
  const list = JSON.parse(kubectl(['-n', ns, 'get', 'schedules.velero.io', '-l', rest[1], '-o', 'json']));
  if (list.items.length === 0) console.log('No schedules found');
  for (const s of list.items) {
    if ((s.spec.paused ?? false) === paused) {
      console.log(`Schedule ${s.metadata.name} is already ${verb}d, skip`);
      continue;
    }
    const patch = { spec: { paused, skipImmediately: extra.length ? true : null } };
    kubectl(['-n', ns, 'patch', 'schedules.velero.io', s.metadata.name, '--type=merge', '-p', JSON.stringify(patch)]);
    console.log(`Schedule ${s.metadata.name} ${verb}d successfully`);
  }
} else if (group === 'backup' && verb === 'create') {
  const [name, flag, from, ...more] = rest;
  if (!name || flag !== '--from-schedule' || !from || more.length) fail(`expected NAME --from-schedule SCHEDULE: ${rest.join(' ')}`);
  const s = JSON.parse(kubectl(['-n', ns, 'get', 'schedules.velero.io', from, '-o', 'json']));
  const backup = {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {
      name,
      namespace: ns,
      labels: { ...(s.spec.template.metadata?.labels ?? s.metadata.labels ?? {}), 'velero.io/schedule-name': from },
      ...(s.metadata.annotations ? { annotations: s.metadata.annotations } : {}),
    },
    spec: s.spec.template,
  };
  kubectl(['create', '--validate=strict', '-f', '-'], JSON.stringify(backup));
  console.log(`Backup request "${name}" submitted successfully.`);
} else {
  fail(`unsupported command: ${argv.join(' ')}`);
}
