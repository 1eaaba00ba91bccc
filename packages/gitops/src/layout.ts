/**
 * What the consumers of the GitOps repository need from the tree, checked before anything
 * is committed.
 *
 * `<env>/clusters/<dc>/` is applied as it is by a Flux Kustomization (kustomize-controller
 * generates a kustomization.yaml listing every .yaml/.yml file below the path when there
 * is none, and fails on a file that does not decode as Kubernetes objects) and by an Argo
 * CD directory application with `directory.recurse: true` (which reads .yaml, .yml and
 * .json). So every such file below `clusters/<dc>/` must hold only Kubernetes objects with
 * apiVersion, kind and metadata.name, and no object may appear twice in one DC (kustomize
 * refuses "an already registered id"; Argo would fight itself).
 */
import { fileDocuments, parseEnvironment } from './objects.js';
import type { GitopsDiagnostic } from './problems.js';
import type { RenderedTree } from './tree.js';

export function validateLayout(tree: RenderedTree): GitopsDiagnostic[] {
  const out: GitopsDiagnostic[] = [];
  for (const env of tree.values()) {
    for (const [path, f] of env.files) {
      if (!path.startsWith('clusters/') || !/\.(ya?ml|json)$/.test(path) || path.split('/').length < 3) continue;
      if (f.content.trim() === '') continue;
      if (!fileDocuments(path, f)) {
        out.push({
          code: 'GITOPS_LAYOUT',
          environment: env.name,
          plugin: f.plugin,
          message: `${env.name}/${path} is not a file of Kubernetes objects (apiVersion, kind, metadata.name), but Flux and Argo CD apply everything under clusters/<dc>/`,
          hint: 'emit it outside clusters/ (e.g. at the environment level) or give it a non-YAML extension',
        });
      }
    }
    const parsed = parseEnvironment(env);
    for (const d of parsed.duplicates) {
      if (!d.dc) continue;
      const first = parsed.objects.get(d.id)!;
      out.push({
        code: 'GITOPS_LAYOUT',
        environment: env.name,
        plugin: d.plugin,
        message: `${d.kind} ${d.namespace ? `${d.namespace}/` : ''}${d.name} appears twice in DC ${d.dc} (${first.path} and ${d.path})`,
        hint: 'one object per DC: kustomize and Argo CD refuse duplicates',
      });
    }
  }
  return out;
}
