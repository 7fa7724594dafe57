// Worker thread of the analysis fuzzer: runs `analyzeText` on each case the main thread sends and
// checks the result's invariants. Living in a worker lets the main thread bound each case in time
// (terminate on a hang) and in memory (resourceLimits), and still name the case that did it.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { analyzeText, diagnosticTable } = require(workerData.bundle);

const codes = new Map(diagnosticTable.map((d) => [d.code, d]));
const SEVERITIES = new Set(['error', 'warning', 'information']);

function inBounds(range, len) {
  return range && Number.isInteger(range.start) && Number.isInteger(range.end) && range.start >= 0 && range.start <= range.end && range.end <= len;
}

/** Everything wrong with one result, in words; empty when it is sound. */
function problems(fileName, text, res) {
  const out = [];
  if (!res || typeof res !== 'object') return [`analyzeText returned ${res}`];
  for (const k of ['diagnostics', 'shapes', 'lossCalls']) if (!Array.isArray(res[k])) out.push(`result.${k} is not an array`);
  if (out.length) return out;
  for (const d of res.diagnostics) {
    const where = `${d.code} at ${d.range && d.range.start}`;
    if (!/^TL\d{4}$/.test(d.code)) out.push(`diagnostic code ${JSON.stringify(d.code)} is not TL + four digits`);
    else if (!codes.has(d.code)) out.push(`diagnostic code ${d.code} is not in the diagnostic table`);
    else if (/internal/i.test(codes.get(d.code).name)) {
      out.push(`internal error caught by the analysis (${d.code}): ${d.message}`);
      continue;
    }
    if (!SEVERITIES.has(d.severity)) out.push(`${where}: severity ${JSON.stringify(d.severity)}`);
    if (typeof d.message !== 'string' || !d.message.trim()) out.push(`${where}: empty message`);
    else {
      // Template holes and stringified non-values, unless the user's own text has them (a name can
      // contain `undefined`; a literal can be NaN).
      const broken = (d.message.match(/\{\d+\}|\{r\d+\}|undefined|\[object Object\]|NaN/g) || []).filter((t) => !text.includes(t));
      if (broken.length) out.push(`${where}: unfilled or broken message ${JSON.stringify(d.message)}`);
    }
    if (!inBounds(d.range, text.length)) out.push(`${where}: range ${JSON.stringify(d.range)} outside the text (length ${text.length})`);
    for (const rel of d.related || []) {
      if (rel.fileName === fileName && !inBounds(rel.range, text.length)) out.push(`${where}: related range ${JSON.stringify(rel.range)} outside the text`);
    }
    for (const f of d.fixes || []) {
      if (typeof f.title !== 'string' || !f.title) out.push(`${where}: a fix without a title`);
      for (const e of f.edits || []) {
        if (e.fileName === fileName && !inBounds(e.range, text.length)) out.push(`${where}: fix "${f.title}" edits ${JSON.stringify(e.range)} outside the text`);
        if (typeof e.newText !== 'string') out.push(`${where}: fix "${f.title}" has no newText`);
      }
    }
  }
  for (const s of res.shapes) {
    if (!inBounds(s.range, text.length)) out.push(`shape fact ${JSON.stringify(s.shapeText)} range ${JSON.stringify(s.range)} outside the text`);
    if (typeof s.shapeText !== 'string') out.push(`shape fact without shapeText at ${JSON.stringify(s.range)}`);
  }
  for (const c of res.lossCalls) {
    if (!inBounds(c.range, text.length)) out.push(`loss call range ${JSON.stringify(c.range)} outside the text`);
  }
  return out;
}

parentPort.on('message', (msg) => {
  const t0 = performance.now();
  let reply;
  try {
    const res = analyzeText(msg.fileName, msg.text);
    const ms = performance.now() - t0;
    const p = problems(msg.fileName, msg.text, res);
    // A second run over the same text must give the same answer (no hidden state between calls).
    const again = analyzeText(msg.fileName, msg.text);
    const sig = (r) => JSON.stringify(r.diagnostics.map((d) => [d.code, d.range.start, d.range.end, d.message]));
    if (sig(again) !== sig(res)) p.push('a second analysis of the same text gave different diagnostics');
    reply = { id: msg.id, ok: p.length === 0, ms, problems: p, diagnostics: res.diagnostics.length, shapes: res.shapes.length };
  } catch (e) {
    reply = { id: msg.id, ok: false, ms: performance.now() - t0, problems: [`analyzeText threw: ${e && e.stack ? e.stack.split('\n').slice(0, 6).join('\n') : String(e)}`] };
  }
  parentPort.postMessage(reply);
});
