/**
 * The model never holds a secret value: credentials live in Kubernetes Secrets created
 * outside topoforge, and the model names them (`credentialSecret: {name, key}`). A value
 * that looks like a credential anywhere in an environment (selectors, bucket config,
 * plugin options…) is an error that names the field, never the value.
 */
import { scanValue } from '@topoforge/secret-scan';
import type { Diagnostic } from './diagnostics.js';
import { escapePointer, locate, pointerToField, type SourceMap } from './source.js';

function referenceHint(pointer: string): string {
  if (/^\/dataCenters\/[^/]+\/backupStorage\//.test(pointer)) {
    return 'reference the Secret that holds it instead: backupStorage.credentialSecret: { name: <Secret name>, key: <key in the Secret> }';
  }
  if (pointer.startsWith('/plugins/')) {
    return 'keep the value in a Kubernetes Secret and pass the plugin a reference to it ({ name: <Secret name>, key: <key> }); topoforge never renders secret values';
  }
  return 'keep the value in a Kubernetes Secret and reference it by name ({ name: <Secret name>, key: <key> }); topoforge never renders secret values';
}

export function plainSecrets(data: unknown, locations: SourceMap): Diagnostic[] {
  return scanValue(data).map((f) => {
    const pointer = f.segments.map((s) => `/${escapePointer(String(s))}`).join('');
    const position = locate(locations, pointer, f.where.endsWith('(a key)') ? 'key' : 'value');
    return {
      code: 'TOPOLOGY_PLAIN_SECRET' as const,
      message: `plain-text secret in ${pointerToField(pointer) || 'the document'}: ${f.reason}`,
      field: pointerToField(pointer),
      ...(position ? { position } : {}),
      hint: referenceHint(pointer),
    };
  });
}
