#!/usr/bin/env node
// The `tensor-lens` command: runs the bundled command line built by `npm run build` (or `npm install`).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const main = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(main)) {
  process.stderr.write('tensor-lens: the command line is not built yet; run `npm run build` in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
require(main);
