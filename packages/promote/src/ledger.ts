/**
 * The ledger file: reading it, and writing entries into it with the `yaml` Document API, so comments survive and
 * each new entry is a one-line diff: a verified version joins its service's flow list
 * (`online-store: ["7.4.2", "7.5.0"]`), a failed one gets `"7.5.0": "<reason>"` under
 * `failed.<service>`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readBoundedFile, writeFileAtomic } from '@topoforge/safe-fs';
import { dirname, join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, Scalar, type Document } from 'yaml';
import { EMPTY_LEDGER, fail, ok, parseLedger, YAML_LIMITS, type Ledger, type Result } from '@topoforge/model';

export const ledgerPath = (environmentsDir: string, from: string): string => join(environmentsDir, 'verified', `${from}.yaml`);

/** The ledger at `path` (empty when the file does not exist yet); its format is the model's (parseLedger). */
export function readLedger(path: string): Result<Ledger> {
  if (!existsSync(path)) return ok(EMPTY_LEDGER);
  // Bounded like environment files: a huge file or a FIFO is refused, not read forever.
  // Strict UTF-8 like environment files: a byte that is not would be read as U+FFFD and kept.
  const read = readBoundedFile(path, YAML_LIMITS.maxBytes, { strictUtf8: true });
  if (!read.ok)
    return fail([
      {
        code: 'PROMOTE_LEDGER_INVALID',
        message:
          read.problem === 'not-utf8'
            ? `${path} is not UTF-8 text: ${read.detail}`
            : `cannot read ${path}: ${read.problem === 'too-large' ? `too large (${read.detail})` : read.detail}`,
        position: { file: path, line: read.at?.line ?? 1, column: read.at?.column ?? 1 },
        hint: 'the ledger is a small YAML file written by topoforge verify',
      },
    ]);
  return parseLedger(path, read.text);
}

export interface LedgerEntry {
  readonly service: string;
  readonly version: string;
  readonly result: 'verified' | 'failed';
  /** Why it failed (for `failed`). */
  readonly reason?: string;
  /** The image the stand ran it from (for `verified`): recorded under `images` (see untestedImages in the model). */
  readonly image?: string;
}

const quoted = (v: string): Scalar => {
  const s = new Scalar(v);
  s.type = Scalar.QUOTE_DOUBLE;
  return s;
};

/**
 * Appends `value` to `section.<service>` (a flow list, so that an entry is a one-line diff),
 * unless it is there already: a version verified again to record its image is not listed twice.
 */
function appendOnce(doc: Document, section: 'verified' | 'images', service: string, value: string): void {
  if (!isMap(doc.get(section))) doc.set(section, doc.createNode({}));
  const list = doc.getIn([section, service]);
  if (isSeq(list) && list.items.some((i) => isScalar(i) && i.value === value)) return;
  if (list) doc.addIn([section, service], quoted(value));
  else doc.setIn([section, service], doc.createNode([quoted(value)], { flow: true }));
}

export function addToLedger(path: string, testStand: string, entries: readonly LedgerEntry[]): void {
  const doc = existsSync(path)
    ? parseDocument(readFileSync(path, 'utf8'))
    : parseDocument(
        `# Versions that passed the ${testStand} test stand, and versions it rolled back; written by \`topoforge verify\`,\n# read by \`topoforge promote\` and (rendered into a ConfigMap) the production promotion gate.\nverified: {}\n`,
      );
  // `verified: null` (or any non-mapping) is an empty ledger section: start it afresh.
  if (!isMap(doc.get('verified'))) doc.set('verified', doc.createNode({}));
  for (const e of entries) {
    if (e.result === 'verified') {
      appendOnce(doc, 'verified', e.service, e.version);
      if (e.image !== undefined) appendOnce(doc, 'images', e.service, e.image);
    } else {
      if (!isMap(doc.get('failed'))) doc.set('failed', doc.createNode({}));
      const key = quoted(e.version);
      doc.setIn(['failed', e.service, key], quoted(e.reason ?? 'failed on the test stand'));
    }
  }
  for (const section of ['verified', 'failed', 'images']) {
    const m = doc.get(section);
    if (isMap(m)) {
      m.flow = false;
      for (const item of m.items) if (section === 'failed' && isMap(item.value)) item.value.flow = false;
    }
  }
  mkdirSync(dirname(path), { recursive: true });
  // Print as written: `["1.0.0"]` stays unpadded and long lists are not folded, so a new entry is a one-line diff.
  // Temp file + rename: a reader never sees half a ledger.
  writeFileAtomic(path, doc.toString({ flowCollectionPadding: false, lineWidth: 0 }));
}
