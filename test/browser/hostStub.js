// Stand-in for the VS Code webview host API in the browser tests: `acquireVsCodeApi()` records what
// the panel posts (and forwards it to the test through an exposed binding), keeps `setState` in
// sessionStorage so a reload restores it as VS Code would, and lets the test post host messages in.
// Also records CSP violations, which the tests require to be none.
(function () {
  'use strict';
  window.__posted = [];
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', e => {
    window.__violations.push({ directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile, line: e.lineNumber });
  });
  let acquired = false;
  window.acquireVsCodeApi = function () {
    if (acquired) throw new Error('An instance of the VS Code API has already been acquired');
    acquired = true;
    return Object.freeze({
      postMessage(message) {
        // VS Code structured-clones the message; so does this.
        const copy = structuredClone(message);
        window.__posted.push(copy);
        if (typeof window.__hostReceive === 'function') window.__hostReceive(copy);
      },
      getState() {
        const s = sessionStorage.getItem('vscode-state');
        return s === null ? undefined : JSON.parse(s);
      },
      setState(state) {
        sessionStorage.setItem('vscode-state', JSON.stringify(state));
        return state;
      },
    });
  };
  /** Test → page: a host message, with bytes given as base64 turned back into a Uint8Array. */
  window.__hostPost = function (message, base64) {
    if (base64 !== undefined) {
      const bin = atob(base64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      message = { ...message, bytes };
    }
    window.postMessage(message, '*');
  };
})();
