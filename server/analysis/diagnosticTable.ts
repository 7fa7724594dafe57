// The one table of diagnostics: stable code, severity, message template and plain-words reason.
// Message text lives here and nowhere else. A retired code is never reused; a test fails on
// duplicates. `{0}`, `{1}` … are filled from a finding's args; `{r0}` … from its reasonArgs.
//
// Groups: TL1xxx annotation syntax and contradictions, TL2xxx loss/target checks, TL3xxx general
// shape ops, TL4xxx warnings about silent misuse, TL9xxx tracking lost / internal.

import type { Severity } from './api';

export interface DiagnosticDefinition {
  readonly code: string;
  readonly severity: Severity;
  /** Short kebab-case name used in docs/diagnostics.md headings. */
  readonly name: string;
  /** The runtime's exact message when there is one, else ours. */
  readonly message: string;
  /** A short reason in plain words. */
  readonly reason?: string;
}

export const diagnosticTable: readonly DiagnosticDefinition[] = [
  // ---- TL1xxx: annotations (analysis core) ----

  // ---- TL2xxx: loss and target checks (losses) ----

  // ---- TL3xxx: general shape ops (analysis core) ----

  // ---- TL4xxx: silent misuse warnings (losses) ----

  // ---- TL9xxx: tracking lost, internal (analysis core) ----
];

const byCode = new Map(diagnosticTable.map(d => [d.code, d]));

export function diagnosticDefinition(code: string): DiagnosticDefinition {
  const d = byCode.get(code);
  if (!d) throw new Error(`unknown diagnostic code ${code}`);
  return d;
}

/** Fills `{0}` with args[0] and `{r0}` with reasonArgs[0]. */
export function formatTemplate(template: string, args: readonly (string | number)[], reasonArgs: readonly (string | number)[] = []): string {
  return template.replace(/\{(r?)(\d+)\}/g, (m, r: string, i: string) => {
    const v = (r ? reasonArgs : args)[Number(i)];
    return v === undefined ? m : String(v);
  });
}
