/**
 * cdk8s: one App per output directory (outdir = that directory), one Chart per object holding
 * one ApiObject, `App.synth()` of every app with one file per chart — the chart's id is the
 * file name, so the paths are the other producers'. cdk8s builds the construct tree first and
 * writes at synth, so it holds every object, as an app would.
 * Usage: node dist/producers/cdk8s.js <workload.json> <out>
 */
import { join } from 'node:path';
import { ApiObject, App, Chart, YamlOutputType } from 'cdk8s';
import { readWorkload, workloadFiles } from '../workload.js';

const [workload, out] = process.argv.slice(2) as [string, string];
const apps = new Map<string, App>();
for (const f of workloadFiles(readWorkload(workload))) {
  let app = apps.get(f.dir);
  if (!app) {
    app = new App({ outdir: join(out, f.dir), outputFileExtension: '.yaml', yamlOutputType: YamlOutputType.FILE_PER_CHART });
    apps.set(f.dir, app);
  }
  new ApiObject(new Chart(app, f.name), 'object', f.object);
}
for (const app of apps.values()) app.synth();
