// Messages between the parts of Tensor Lens (client ⇄ server, client ⇄ webview, webview ⇄ worker).
export * from './server';
export * from './webview';
