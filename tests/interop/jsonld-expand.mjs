#!/usr/bin/env node
// Expand a JSON-LD document with jsonld.js, fully offline.
//
// Usage: node jsonld-expand.mjs [--safe] < document.json > expanded.json
//
// Reads one JSON document from stdin and prints its JSON-LD expansion to
// stdout. Remote contexts are served ONLY from the local fixture files in
// ../fixtures/jsonld/ (ActivityStreams 2.0 and W3ID security v1); any other
// URL makes the document loader throw, so nothing ever touches the network.
// --safe turns on jsonld.js "safe mode": properties/values that would be
// silently dropped during expansion become errors instead.
// Exit code 0 on success, 1 with a message on stderr on any error.
import { readFileSync } from 'node:fs';
import jsonld from 'jsonld';

const FIXTURES = new URL('../fixtures/jsonld/', import.meta.url);

// Canonical key (scheme-less, no trailing slash / ".jsonld") -> fixture file.
const CONTEXTS = new Map([
  ['www.w3.org/ns/activitystreams', 'activitystreams.jsonld'],
  ['w3id.org/security/v1', 'security-v1.jsonld'],
]);

function canonicalKey(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
  if (u.search || u.username || u.password || u.port) return null;
  let path = u.pathname;
  if (path.endsWith('/')) path = path.slice(0, -1);
  if (path.endsWith('.jsonld')) path = path.slice(0, -'.jsonld'.length);
  return u.hostname.toLowerCase() + path;
}

const cache = new Map();

async function documentLoader(url) {
  const key = canonicalKey(url);
  const file = key && CONTEXTS.get(key);
  if (!file) {
    throw new Error(
      `offline document loader: refusing to load ${JSON.stringify(url)} ` +
        `(only ${[...CONTEXTS.keys()].map((k) => 'https://' + k).join(', ')} are available locally)`,
    );
  }
  if (!cache.has(file)) {
    cache.set(file, JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')));
  }
  return { contextUrl: null, documentUrl: url, document: cache.get(file) };
}

// Belt and braces: never let jsonld.js fall back to its network loader.
jsonld.documentLoader = documentLoader;

function describe(err) {
  const parts = [err && err.message ? err.message : String(err)];
  // jsonld.js wraps loader failures; surface the underlying cause.
  let cause = err && (err.details?.cause || err.cause);
  while (cause) {
    parts.push(`caused by: ${cause.message || String(cause)}`);
    cause = cause.details?.cause || cause.cause;
  }
  if (err?.details?.code) parts.push(`code: ${err.details.code}`);
  return parts.join('\n  ');
}

async function main() {
  const args = process.argv.slice(2);
  const safe = args.includes('--safe');
  const unknown = args.filter((a) => a !== '--safe');
  if (unknown.length) throw new Error(`unknown argument(s): ${unknown.join(' ')}`);

  const input = readFileSync(0, 'utf8');
  let doc;
  try {
    doc = JSON.parse(input);
  } catch (e) {
    throw new Error(`stdin is not valid JSON: ${e.message}`);
  }
  const expanded = await jsonld.expand(doc, { documentLoader, safe });
  process.stdout.write(JSON.stringify(expanded, null, 2) + '\n');
}

main().catch((err) => {
  process.stderr.write(`jsonld-expand: error: ${describe(err)}\n`);
  process.exit(1);
});
