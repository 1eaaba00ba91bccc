/**
 * The test stand's ledger, `verified/<environment>.yaml` beside the environment files:
 * which versions passed the staging canary, and which were rolled back there (with why).
 *
 *   verified:
 *     online-store: ["7.4.2"]
 *   failed:
 *     online-store:
 *       "7.5.0": "rolled back by the staging canary in stg01"
 *
 * Written by `topoforge verify`, read by `topoforge promote`, rendered into the promotion
 * gate's ConfigMap in production. A version in `failed` is refused even when it is also in
 * `verified`: a rollback anywhere on the test stand outweighs a success elsewhere.
 */
import { fail, ok, type Diagnostic, type Result } from './diagnostics.js';
import { isMap, isScalar, parseDocument } from '@topoforge/bundled-deps/yaml';
import { locate, parseYamlSource } from './source.js';
import { escapePointer } from './source.js';
import { plainSecrets } from './secrets.js';
import { controlCharacters } from './text.js';
import type { Environment } from './model.js';
import { suggest } from './validate-schema.js';

export interface Ledger {
  readonly verified: Readonly<Record<string, readonly string[]>>;
  /** service → version → reason it failed on the test stand. */
  readonly failed: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * service → the images (repositories, without the tag) the stand ran when `verify` recorded
   * one of its versions: what production may run besides the image the stand runs now (see
   * untestedImages). Absent in ledgers written before images were recorded.
   */
  readonly images?: Readonly<Record<string, readonly string[]>>;
}

export const EMPTY_LEDGER: Ledger = { verified: {}, failed: {} };

/**
 * The test stand whose ledger an environment's promotion gate reads: the one it names
 * (`testStand`, which render holds its versions to); a test stand's own (it records the
 * evidence) is itself; otherwise `staging`.
 */
export function testStandOf(env: { readonly name: string; readonly stage: string; readonly testStand?: string }): string {
  return env.testStand ?? (env.stage === 'staging' ? env.name : 'staging');
}

/**
 * The images the ledger lists for a service (see Ledger.images); undefined when it lists none
 * for it — a ledger written before images were recorded, which vouches for none and holds none back.
 */
export function recordedImages(ledger: Ledger, service: string): readonly string[] | undefined {
  const images = ledger.images;
  return images !== undefined && Object.hasOwn(images, service) ? images[service] : undefined;
}

/** The versions the gate lets through, by service: verified and not failed (see ledgerRefusal). */
export function passedVersions(ledger: Ledger): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [service, versions] of Object.entries(ledger.verified)) out[service] = versions.filter((v) => failedReason(ledger, service, v) === undefined);
  return out;
}

/** Why the stand marks a version failed, or undefined (service and version are plain keys: a service may be called `constructor`). */
function failedReason(ledger: Ledger, service: string, version: string): string | undefined {
  const failed = Object.hasOwn(ledger.failed, service) ? ledger.failed[service]! : undefined;
  return failed !== undefined && Object.hasOwn(failed, version) ? failed[version] : undefined;
}

/** Why a version may not leave the test stand, or undefined when it may. */
export function ledgerRefusal(
  ledger: Ledger,
  service: string,
  version: string,
  testStand: string,
): { readonly code: 'failed' | 'unverified'; readonly reason: string } | undefined {
  const failed = failedReason(ledger, service, version);
  if (failed !== undefined) return { code: 'failed', reason: `${service} ${version} failed on ${testStand}: ${failed}` };
  if (!(Object.hasOwn(ledger.verified, service) && ledger.verified[service]!.includes(version)))
    return { code: 'unverified', reason: `${service} ${version} never passed ${testStand}` };
  return undefined;
}

export function parseLedger(file: string, text: string): Result<Ledger> {
  const { source, diagnostics } = parseYamlSource(file, text);
  if (!source) return fail(diagnostics.map((d) => ({ ...d, code: 'PROMOTE_LEDGER_INVALID' as const })));
  const problems: Diagnostic[] = [];
  const at = (pointer: string, message: string, hint: string): void => {
    const position = locate(source.locations, pointer);
    problems.push({ code: 'PROMOTE_LEDGER_INVALID', message, field: pointer.split('/').slice(1).join('.'), hint, ...(position ? { position } : {}) });
  };
  const data = source.data as Record<string, unknown>;
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    return fail([{ code: 'PROMOTE_LEDGER_INVALID', message: `${file} must be a mapping`, position: { file, line: 1, column: 1 } }]);
  // Checked like a topology file: the ledger is committed beside the environments, printed by
  // promote and rendered into the promotion gate's ConfigMap, so a credential pasted into a
  // failure reason would be rendered, and a control character would reach the ConfigMap and
  // the terminal.
  for (const d of plainSecrets(data, source.locations))
    problems.push({ ...d, hint: 'a ledger holds versions and why they failed; remove the value (and rotate it: it was committed)' });
  for (const d of controlCharacters(data, source.locations)) problems.push({ ...d, code: 'PROMOTE_LEDGER_INVALID' });
  for (const key of Object.keys(data))
    if (key !== 'verified' && key !== 'failed' && key !== 'images')
      at(`/${escapePointer(key)}`, `unknown key "${key}" in the ledger`, 'a ledger has `verified`, `failed` and `images`');
  const isMapping = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const failed: Record<string, Record<string, string>> = Object.create(null) as Record<string, Record<string, string>>;
  /** A section mapping services to lists of strings (`verified`, `images`); a key present but empty (`verified: null`) is a mistake, not an empty section. */
  const lists = (
    section: string,
    item: (x: unknown) => boolean,
    said: { readonly whole: string; readonly wholeHint: string; readonly each: string; readonly eachHint: string },
  ): Record<string, string[]> => {
    const out: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
    const v = Object.hasOwn(data, section) ? data[section] : {};
    if (!isMapping(v)) at(`/${section}`, `\`${section}\` must map services to lists of ${said.whole}`, said.wholeHint);
    else
      for (const [svc, list] of Object.entries(v)) {
        if (!Array.isArray(list) || !list.every(item))
          at(`/${section}/${escapePointer(svc)}`, `${section}.${svc} must be a list of ${said.each}`, said.eachHint);
        else out[svc] = list as string[];
      }
    return out;
  };
  const verified = lists('verified', (x) => typeof x === 'string', {
    whole: 'versions',
    wholeHint: 'verified: {<service>: ["1.2.3"]}',
    each: 'version strings',
    eachHint: 'quote versions: ["1.10.0"]',
  });
  const imagesHint = 'images: {<service>: ["registry.example.com/team/service"]}';
  const images = lists('images', (x) => typeof x === 'string' && x !== '', { whole: 'images', wholeHint: imagesHint, each: 'images', eachHint: imagesHint });
  const f = Object.hasOwn(data, 'failed') ? data['failed'] : {};
  if (!isMapping(f)) at('/failed', '`failed` must map services to {version: reason}', 'failed: {<service>: {"1.2.3": "why"}}');
  else {
    for (const [svc, versions] of Object.entries(f)) {
      if (!isMapping(versions) || Object.values(versions).some((x) => typeof x !== 'string'))
        at(
          `/failed/${escapePointer(svc)}`,
          `failed.${svc} must map versions to the reason they failed`,
          '"7.5.0": "rolled back by the staging canary in stg01"',
        );
      else failed[svc] = versions as Record<string, string>;
    }
    // A version key YAML reads as a number (`1.10:` is 1.1, `2.0:` is 2) would keep the failure
    // under another version, and the version written there, if verified, would pass.
    const node = parseDocument(text, { version: '1.2', uniqueKeys: false }).get('failed');
    for (const entry of isMap(node) ? node.items : []) {
      const svc = String(isScalar(entry.key) ? entry.key.value : entry.key);
      for (const k of isMap(entry.value) ? entry.value.items : []) {
        if (!isScalar(k.key) || typeof k.key.value === 'string') continue;
        const read = String(k.key.value);
        const written = k.key.source ?? read;
        at(
          `/failed/${escapePointer(svc)}/${escapePointer(read)}`,
          `failed.${svc}: the version ${written} is read as the ${typeof k.key.value === 'number' ? 'number' : 'YAML value'} ${read}, not as a version`,
          `quote it: "${written}"`,
        );
      }
    }
  }
  return problems.length ? fail(problems) : ok({ verified, failed, ...(Object.hasOwn(data, 'images') ? { images } : {}) });
}

/**
 * What keeps a version that never passed the test stand out of production: for each
 * environment of `targets` that names its test stand (`testStand`), every service's version
 * must be verified in that stand's ledger and not failed there. The promotion gate holds a
 * Canary's rollout until then, but Flagger runs no analysis (no gate) when it initializes a
 * Canary — a new service, a re-created Canary, a rebuilt cluster — and copies whatever the
 * Deployment runs; a service without a canary has no gate at all. `all`: every environment
 * loaded (the stand need not be rendered). Each diagnostic names the file and line the version
 * comes from (base.yaml when production inherits it).
 */
export function unverifiedVersions(all: readonly Environment[], targets: readonly Environment[] = all): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const env of targets) {
    if (env.testStand === undefined) continue;
    const stand = all.find((e) => e.name === env.testStand);
    if (!stand || stand.stage !== 'staging') {
      const staging = all.filter((e) => e.stage === 'staging').map((e) => e.name);
      const guess = suggest(env.testStand, staging);
      const position = locate(env.sourceMap, '/testStand');
      out.push({
        code: 'TOPOLOGY_UNKNOWN_REFERENCE',
        message: stand
          ? `${env.name}'s testStand "${env.testStand}" is a ${stand.stage} environment, not a test stand`
          : `${env.name}'s testStand "${env.testStand}" is not an environment of this directory`,
        field: 'testStand',
        hint: guess
          ? `did you mean "${guess}"?`
          : staging.length
            ? `staging environments: ${staging.join(', ')}`
            : 'add the staging environment every change passes first',
        ...(position ? { position } : {}),
      });
      continue;
    }
    const ledger = stand.ledger ?? EMPTY_LEDGER;
    for (const svc of env.services) {
      const refusal = ledgerRefusal(ledger, svc.name, svc.version, stand.name);
      if (!refusal) continue;
      const pointer = `/services/${escapePointer(svc.name)}/version`;
      const position = locate(env.sourceMap, pointer);
      const ran = stand.services.find((s) => s.name === svc.name);
      const verify = `\`topoforge verify --env ${stand.name} --service ${svc.name} --version ${svc.version}\``;
      out.push({
        code: refusal.code === 'failed' ? 'PROMOTE_VERSION_FAILED' : 'PROMOTE_NOT_VERIFIED',
        message: `${refusal.reason} (verified/${stand.name}.yaml), so ${env.name} may not run it`,
        field: `services.${svc.name}.version`,
        hint:
          refusal.code === 'failed'
            ? `set a version that passed ${stand.name}, or fix it and verify a new one there`
            : // verify and promote take only a service the stand runs, verify only the version it runs.
              !ran
              ? `${stand.name} does not run ${svc.name}, so no version of it can pass there: add it to ${stand.file} first; once ${svc.name} ${svc.version} passed there, ${verify} records it`
              : ran.version === svc.version
                ? `${stand.name} runs it too: once it passed there, ${verify} records it`
                : `set it in ${stand.name} first; once it passed there, ${verify} records it and \`topoforge promote --from ${stand.name} --to ${env.name} --service ${svc.name}\` sets it here`,
        ...(position ? { position } : {}),
      });
    }
  }
  return out;
}

/**
 * Beside unverifiedVersions, with the same callers: the ledger's versions are tags, and a
 * verified tag proves nothing about another repository. For each environment of `targets` that
 * names its test stand, every service the stand also runs must run an image the stand ran:
 * the one it runs now, or one `verify` recorded under `images` with a version that passed.
 * Otherwise production could pull `other-registry/svc:<verified tag>`, and the promotion gate,
 * which takes the image to expect from production's own rendered config, would allow it.
 * Recorded images let a move done on the stand first (staging.yaml names the new image) leave
 * production on the old one until it is promoted, as versions do. A ledger that records no
 * image of a service (written before images were) holds only an image production's own file
 * sets to it: an inherited one is the one the stand ran before it moved, and refusing it would
 * block every render until the move is promoted. Each diagnostic names the line that set the
 * image. A stand that is unknown or not staging is reported by unverifiedVersions.
 */
export function untestedImages(all: readonly Environment[], targets: readonly Environment[] = all): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const env of targets) {
    if (env.testStand === undefined) continue;
    const stand = all.find((e) => e.name === env.testStand);
    if (!stand || stand.stage !== 'staging') continue;
    for (const svc of env.services) {
      const ran = stand.services.find((s) => s.name === svc.name);
      if (!ran || ran.image === svc.image) continue;
      const images = recordedImages(stand.ledger ?? EMPTY_LEDGER, svc.name);
      if (images?.includes(svc.image)) continue;
      const position = locate(env.sourceMap, `/services/${escapePointer(svc.name)}/image`);
      const setHere = position?.file === env.file;
      if (images === undefined && !setHere) continue;
      const promote = `\`topoforge promote --from ${stand.name} --to ${env.name} --service ${svc.name}\``;
      out.push({
        code: 'PROMOTE_IMAGE_NOT_TESTED',
        message: `${svc.name}'s image ${svc.image} is not one ${stand.name} runs (${ran.image}) or ran a verified version of (verified/${stand.name}.yaml), so ${env.name} may not run it`,
        field: `services.${svc.name}.image`,
        hint: setHere
          ? // Set here: the stand has to run it first.
            `set it in ${stand.file} first; once a version passed there, \`topoforge verify\` records the image and ${promote} carries it here`
          : // Inherited: the stand moved and the old image is not recorded.
            `${stand.name} runs ${ran.image}: once a version passed there, ${promote} carries it here`,
        ...(position ? { position } : {}),
      });
    }
  }
  return out;
}
