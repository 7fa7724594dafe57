// Entry of the analysis bundle the fuzz worker loads: the public entry point and the diagnostic table.
export { analyzeText } from '../../server/analysis/index';
export { diagnosticTable } from '../../server/analysis/diagnosticTable';
