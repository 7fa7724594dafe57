// Building a finding: a code, its subject and message arguments, the reason chosen for the
// recognised cause (from ./reasons), the symbolic dims it talks about, and its fixes.

import type { Dim, Shape } from '../dims';
import type { Finding, FindingArg, FindingSubject, FixSpec } from '../values';
import { symbolNames } from './format';
import { reason, type ReasonKey } from './reasons';

export function finding(code: string, subject: FindingSubject, args: readonly FindingArg[], reasonKey: ReasonKey, reasonArgs: readonly (string | number)[], extra: { dims?: readonly (Shape | Dim | undefined)[]; fixes?: readonly FixSpec[] } = {}): Finding {
  const dims = symbolNames(...(extra.dims ?? []));
  return {
    code, subject, args, reasonArgs: [reason(reasonKey, ...reasonArgs)],
    ...(dims.length ? { dims } : {}),
    ...(extra.fixes?.length ? { fixes: extra.fixes } : {}),
  };
}
