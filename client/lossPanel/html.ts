// The loss panel's HTML: the strict CSP, the nonce, and where the page finds its assets. Pure (no
// `vscode`), so the browser tests serve exactly the page the extension shows.

export interface PanelHtmlOptions {
  /** `webview.cspSource`. */
  readonly cspSource: string;
  /** A fresh random nonce per render (base64 or hex; no quotes). */
  readonly nonce: string;
  /** The webview URI of the built `dist/webview/` folder, without a trailing slash. */
  readonly webviewBase: string;
  /** The webview URI of the built `dist/compute/` folder (the engine's `.wasm` files). */
  readonly computeBase: string;
}

/** The Content-Security-Policy of the panel: scripts by nonce only, wasm compilation allowed, the
 * worker from a Blob, fetches only of the panel's own resources. No 'unsafe-inline', no 'unsafe-eval'. */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    `default-src 'none'`,
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    `worker-src blob:`,
    `connect-src ${cspSource}`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `img-src ${cspSource}`,
  ].join('; ') + ';';
}

function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderPanelHtml(o: PanelHtmlOptions): string {
  const nonce = attr(o.nonce);
  // The toolkit is loaded by `webview/ui/toolkit.ts` (a module script it adds with this nonce), so
  // the page names only our own bundle and stylesheet.
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(panelCsp(o.cspSource, o.nonce))}">
<meta property="csp-nonce" content="${nonce}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${attr(o.webviewBase)}/panel.css">
<title>Loss panel</title>
</head>
<body data-webview-base="${attr(o.webviewBase)}" data-compute-base="${attr(o.computeBase)}">
<main id="app" aria-busy="true"><p class="boot">Loading the loss panel…</p></main>
<script nonce="${nonce}" src="${attr(o.webviewBase)}/main.js"></script>
</body>
</html>
`;
}
