// The analysis's public surface: what the language server and the command line call, and the plain
// data they get back. Nothing here knows LSP, `vscode`, `fs` or `process`; offsets are UTF-16 code
// unit offsets into the file's text (what TypeScript and LSP positions both use), end exclusive.

import type { Dtype } from './dims';

export type Severity = 'error' | 'warning' | 'information';
export type Profile = 'torch' | 'tfjs';

export interface TextRange {
  readonly start: number;
  readonly end: number;
}

export interface Location {
  readonly fileName: string;
  readonly range: TextRange;
}

/** "`C` was bound here": a place that gave a dim its size, or another place worth showing. */
export interface RelatedLocation extends Location {
  readonly message: string;
}

export interface TextEdit {
  readonly fileName: string;
  readonly range: TextRange;
  readonly newText: string;
}

/** A fix the editor can offer as a quick fix: one or more text edits. */
export interface Fix {
  readonly title: string;
  readonly edits: readonly TextEdit[];
  /** The fix to apply when the user asks for "the" fix (at most one per diagnostic). */
  readonly isPreferred?: boolean;
}

export interface Diagnostic {
  readonly fileName: string;
  readonly range: TextRange;
  /** `TL2001`: stable, from the one diagnostic table. */
  readonly code: string;
  readonly severity: Severity;
  /** The runtime's own message when there is one (PyTorch's or TF.js's exact text), else ours. */
  readonly message: string;
  /** A short reason in plain words, and the fix in words when one is clear. */
  readonly reason?: string;
  readonly related: readonly RelatedLocation[];
  readonly fixes: readonly Fix[];
  readonly tags?: readonly ('unnecessary' | 'deprecated')[];
}

/** A dim as shown to users and printed by `tensor-lens shapes --format json`. */
export type DimJson = number | string;

export interface DimBinding {
  /** The symbolic name (`C`). */
  readonly name: string;
  /** Its value where known (`21` from `const NUM_CLASSES = 21`). */
  readonly value?: number;
  /** Where it was bound (an annotation, a creation call, a module constructor). */
  readonly location?: Location;
}

/** A tensor-valued expression or declaration and its inferred shape: hover and inlay hints use these. */
export interface ShapeFact {
  readonly fileName: string;
  /** The expression's range, or for a declaration the declared name's range. */
  readonly range: TextRange;
  readonly kind: 'declaration' | 'parameter' | 'expression';
  /** The declared name for declarations and parameters. */
  readonly name?: string;
  /** `[N, C, H, W]`-style text; `[?]` when the whole shape is unknown. */
  readonly shapeText: string;
  /** Dims as JSON (`["N", 3, "H", "W"]`), or null when the rank is unknown. */
  readonly shape: readonly DimJson[] | null;
  readonly dtype: Dtype | null;
  /** Where each symbolic dim in the shape was bound. */
  readonly bindings: readonly DimBinding[];
  /** True when the shape came from an annotation on this very declaration. */
  readonly annotated?: boolean;
  /**
   * For an unannotated declaration whose shape is fully inferred: "Annotate the inferred shape",
   * inserting `  // @shape [N, C] float32` after the statement. The LSP offers it as a code action
   * at the declaration (a refactoring, not a quick fix: nothing is wrong).
   */
  readonly fixes?: readonly Fix[];
}

export type LossFunction =
  | 'cross_entropy' | 'nll_loss' | 'binary_cross_entropy' | 'binary_cross_entropy_with_logits'
  | 'mse_loss' | 'l1_loss'
  | 'tfjs.softmaxCrossEntropy' | 'tfjs.sigmoidCrossEntropy' | 'tfjs.meanSquaredError'
  | 'tfjs.categoricalCrossentropy' | 'tfjs.binaryCrossentropy' | 'tfjs.sparseCategoricalCrossentropy';

export interface TensorSummary {
  readonly shape: readonly DimJson[] | null;
  readonly shapeText: string;
  readonly dtype: Dtype | null;
  /** The argument's source text (`masks.squeeze(1)`). */
  readonly text: string;
  /** Known literal values (a tensor literal in the code), flattened in C order, when small. */
  readonly values?: readonly number[];
}

/** A supported loss call, for the CodeLens `Evaluate loss…` and the loss panel. */
export interface LossCall {
  readonly fileName: string;
  /** The whole call expression. */
  readonly range: TextRange;
  readonly function: LossFunction;
  readonly profile: Profile;
  readonly input: TensorSummary;
  readonly target: TensorSummary;
  readonly weight?: TensorSummary;
  readonly reduction?: string;
  readonly ignoreIndex?: number;
  readonly labelSmoothing?: number;
  /** Known sizes of symbolic dims in scope (`C` → 21), for filling random inputs. */
  readonly knownDims: Readonly<Record<string, number>>;
  /** What the call expects of its target, in words (`class indices [N, H, W] int64 in [0, 21)`), for hover. */
  readonly expectation?: string;
}

export interface FileAnalysis {
  readonly fileName: string;
  readonly profile: Profile | null;
  readonly diagnostics: readonly Diagnostic[];
  readonly shapes: readonly ShapeFact[];
  readonly lossCalls: readonly LossCall[];
}

/** Where the analysis reads files that are not open (imports of analysed files). */
export interface AnalysisHost {
  readFile(fileName: string): string | undefined;
  fileExists(fileName: string): boolean;
}

export interface AnalysisOptions {
  /** Modules treated as torch-style besides `js-pytorch` (the `tensorLens.torchModules` setting). */
  readonly torchModules?: readonly string[];
  /** User-described functions from `tensorlens.json`: `"myLib.diceLoss": "(pred: [N, C, *s], target: [N, C, *s]) -> []"`. */
  readonly functions?: Readonly<Record<string, string>>;
}

/** Checked between steps of a long analysis; when it says true the analysis stops and throws `AnalysisCancelled`. */
export interface CancellationToken {
  readonly isCancellationRequested: boolean;
}

export class AnalysisCancelled extends Error {
  constructor() {
    super('analysis cancelled');
  }
}
