// The language-neutral program form the shape interpreter runs on: modules, functions, classes,
// statements and expressions, each with its source range. A front end (TypeScript today, Python
// later) produces it; the interpreter never sees a syntax tree. Annotations arrive already parsed.

import type { TextRange } from './api';
import type { AnnotationError, ShapeAnnotation } from './annotations';

export interface IrModule {
  readonly fileName: string;
  readonly imports: readonly IrImport[];
  /** Exported names → local names (`export function f` gives f → f; `export { a as b }` gives b → a). */
  readonly exports: ReadonlyMap<string, string>;
  readonly body: readonly Stmt[];
  /** Malformed annotations found anywhere in the file. */
  readonly annotationErrors: readonly AnnotationError[];
  /** A front end's own problem (the file did not parse cleanly); the analysis still runs. */
  readonly syntaxErrors: readonly { readonly message: string; readonly range: TextRange }[];
}

export interface IrImport {
  /** The module specifier as written (`js-pytorch/functional`, `./losses`). */
  readonly module: string;
  /** Local name bound to the whole module (`import * as tf`, `import tf from`, `require(...)`). */
  readonly namespace?: string;
  /** Named imports: `import { nn as N }` gives { imported: 'nn', local: 'N' }. */
  readonly names: readonly { readonly imported: string; readonly local: string; readonly range: TextRange }[];
  readonly range: TextRange;
}

/**
 * What a type annotation says: a tensor rank from a library type (`Tensor4D`, `Tensor<Rank.R3>`),
 * or the name of a class (`model: LeNet`), whose instance the value then is.
 */
export type TypeInfo = { readonly rank?: number; readonly isTensor?: boolean; readonly className?: string };

export interface Param {
  readonly name?: string;
  /** Destructured parameter: names bound from the argument's properties or elements. */
  readonly pattern?: Pattern;
  readonly range: TextRange;
  readonly annotation?: ShapeAnnotation;
  readonly type?: TypeInfo;
  readonly defaultValue?: Expr;
  readonly rest?: boolean;
}

export interface IrFunction {
  readonly name?: string;
  readonly nameRange?: TextRange;
  readonly params: readonly Param[];
  readonly returns?: ShapeAnnotation;
  readonly returnType?: TypeInfo;
  /** Annotations on the function that name no parameter (reported by the interpreter). */
  readonly strayAnnotations: readonly ShapeAnnotation[];
  readonly body: readonly Stmt[];
  /** An arrow function with an expression body: its value. */
  readonly bodyExpr?: Expr;
  /** The block body's range (`{` to `}`), for incremental re-analysis of an edit inside one body. */
  readonly bodyRange?: TextRange;
  readonly range: TextRange;
  readonly isMethod?: boolean;
}

export interface IrClass {
  readonly name?: string;
  readonly nameRange?: TextRange;
  readonly extendsExpr?: Expr;
  readonly ctor?: IrFunction;
  readonly methods: readonly IrFunction[];
  /** Field initialisers (`fc = new nn.Linear(4, 2)` at class level), run before the constructor body. */
  readonly fields: readonly { readonly name: string; readonly value?: Expr; readonly range: TextRange; readonly annotation?: ShapeAnnotation }[];
  readonly range: TextRange;
}

export type Pattern =
  | { readonly kind: 'name'; readonly name: string; readonly range: TextRange }
  | { readonly kind: 'array'; readonly elements: readonly (Pattern | undefined)[]; readonly range: TextRange }
  | { readonly kind: 'object'; readonly props: readonly { readonly key: string; readonly value: Pattern }[]; readonly range: TextRange };

export type Stmt =
  | { readonly kind: 'declare'; readonly target: Pattern; readonly init?: Expr; readonly annotation?: ShapeAnnotation; readonly type?: TypeInfo; readonly constant: boolean; readonly range: TextRange }
  | { readonly kind: 'assign'; readonly target: Expr; readonly value: Expr; readonly annotation?: ShapeAnnotation; readonly range: TextRange }
  | { readonly kind: 'expr'; readonly expr: Expr; readonly range: TextRange }
  | { readonly kind: 'if'; readonly cond: Expr; readonly then: readonly Stmt[]; readonly else: readonly Stmt[]; readonly range: TextRange }
  /** Any loop: `init` runs once, then `body` zero or more times; `binding` is the per-iteration variable of for-of/for-in. */
  | { readonly kind: 'loop'; readonly init: readonly Stmt[]; readonly binding?: Pattern; readonly iterable?: Expr; readonly cond?: Expr; readonly body: readonly Stmt[]; readonly range: TextRange }
  | { readonly kind: 'return'; readonly value?: Expr; readonly range: TextRange }
  | { readonly kind: 'function'; readonly fn: IrFunction; readonly range: TextRange }
  | { readonly kind: 'class'; readonly cls: IrClass; readonly range: TextRange }
  | { readonly kind: 'block'; readonly body: readonly Stmt[]; readonly range: TextRange }
  /** `try { } catch (e) { } finally { }`: the blocks run as alternatives that join. */
  | { readonly kind: 'try'; readonly body: readonly Stmt[]; readonly handler: readonly Stmt[]; readonly finalizer: readonly Stmt[]; readonly range: TextRange };

export type Expr =
  | { readonly kind: 'name'; readonly name: string; readonly range: TextRange }
  | { readonly kind: 'number'; readonly value: number; readonly range: TextRange; /** Written with a point or exponent (`1.0`, `1e-3`). */ readonly float?: boolean }
  | { readonly kind: 'string'; readonly value: string; readonly range: TextRange }
  | { readonly kind: 'bool'; readonly value: boolean; readonly range: TextRange }
  | { readonly kind: 'null'; readonly range: TextRange }
  | { readonly kind: 'this'; readonly range: TextRange }
  | { readonly kind: 'array'; readonly elements: readonly Expr[]; readonly range: TextRange }
  | { readonly kind: 'object'; readonly props: readonly { readonly key: string; readonly value: Expr; readonly range: TextRange }[]; readonly range: TextRange }
  | { readonly kind: 'member'; readonly object: Expr; readonly property: string; readonly propertyRange: TextRange; readonly range: TextRange }
  | { readonly kind: 'index'; readonly object: Expr; readonly index: Expr; readonly range: TextRange }
  | { readonly kind: 'call'; readonly callee: Expr; readonly args: readonly Expr[]; readonly range: TextRange }
  | { readonly kind: 'new'; readonly callee: Expr; readonly args: readonly Expr[]; readonly range: TextRange }
  | { readonly kind: 'unary'; readonly op: string; readonly operand: Expr; readonly range: TextRange }
  | { readonly kind: 'binary'; readonly op: string; readonly left: Expr; readonly right: Expr; readonly range: TextRange }
  | { readonly kind: 'conditional'; readonly cond: Expr; readonly whenTrue: Expr; readonly whenFalse: Expr; readonly range: TextRange }
  | { readonly kind: 'function'; readonly fn: IrFunction; readonly range: TextRange }
  | { readonly kind: 'class'; readonly cls: IrClass; readonly range: TextRange }
  /** `await x`, `x as T`, `x!`, parentheses: the value of the inner expression, with an optional type. */
  | { readonly kind: 'wrapped'; readonly inner: Expr; readonly type?: TypeInfo; readonly range: TextRange }
  /** Something the front end does not model; evaluates its parts for effects and is unknown. */
  | { readonly kind: 'opaque'; readonly parts: readonly Expr[]; readonly range: TextRange };
