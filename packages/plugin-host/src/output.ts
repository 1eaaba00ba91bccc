/**
 * The output of a render, one item at a time: each emitted item is serialized and
 * validated the moment it is emitted, then handed to a sink (the engine streams it into its
 * staging tree; `runPlugins` collects it). Nothing here needs the whole output: the layout
 * rule keeps one compact identity per object, so a render's memory does not grow with the
 * size of what it writes (issue 19).
 */
import type { Diagnostic, Environment } from '@topoforge/model';
import type { Emitted } from '@topoforge/plugin-contract';
import { toYaml } from '@topoforge/yaml-emit';
import { Layout } from './validate.js';
import type { Mutable } from './freeze.js';
import type { CarriedFile, LayoutNote, UnitTag } from './units.js';

/** One serialized output file. */
export interface OutputFile {
  readonly path: string;
  readonly content: string;
  readonly plugin: string;
  /** The unit the file belongs to (a `renderService` output with a key), with its layout identities. */
  readonly unit?: UnitTag & { readonly layout: readonly LayoutNote[] };
}

/** Receives every file of an environment that passed serialization and validation (in emission order). */
export type FileSink = (file: OutputFile) => void;

/** Checks one emitted item (e.g. against CRD schemas); problems name the plugin and the object. */
export type OutputValidator = (item: Emitted, env: Environment) => readonly Diagnostic[];

export class OutputPipeline {
  private readonly layout: Layout;
  readonly problems: Diagnostic[] = [];
  /** Files per plugin, for the render summary. */
  readonly counts = new Map<string, number>();

  constructor(
    private readonly env: Environment,
    private readonly validators: readonly OutputValidator[],
    private readonly sink: FileSink,
  ) {
    this.layout = new Layout(env);
  }

  /** Serializes and validates one item; passes it to the sink when it has no problem. */
  add(e: Emitted, unit?: UnitTag): void {
    let content: string;
    try {
      content = e.type === 'object' ? toYaml(e.object) : e.content;
    } catch (err) {
      this.problems.push({ code: 'PLUGIN_INVALID_OBJECT', plugin: e.plugin, message: `cannot serialize ${e.path}: ${(err as Error).message}` });
      return;
    }
    const before = this.problems.length;
    const layout = this.layout.add(e, this.problems);
    for (const v of this.validators) for (const d of v(e, this.env)) this.problems.push(d);
    if (this.problems.length > before) return;
    this.counts.set(e.plugin, (this.counts.get(e.plugin) ?? 0) + 1);
    const file: Mutable<OutputFile> = { path: e.path, content, plugin: e.plugin };
    if (unit) file.unit = { ...unit, layout };
    this.sink(file);
  }

  /** A carried unit's files, counted: the store kept them on disk, unchanged since they passed these same checks (same key: same input, same code). */
  carried(plugin: string, count: number): void {
    // As for rendered files: a plugin is counted once it has a file.
    if (count === 0) return;
    this.counts.set(plugin, (this.counts.get(plugin) ?? 0) + count);
  }

  /**
   * A carried file against the rendered items: only the layout rule spans units. Its
   * identities are looked up, not noted (see Layout.carried).
   */
  carriedFile(plugin: string, f: CarriedFile): void {
    this.layout.carried(plugin, f.path, f.layout);
  }

  /** Problems found only once everything is in (a conflict is reported once both sides are known). */
  finish(): Diagnostic[] {
    return [...this.problems, ...this.layout.conflicts()];
  }
}
