#!/usr/bin/env node
// Validate a NodeInfo document against the official JSON schema, offline.
//
// Usage: node nodeinfo-validate.mjs <2.0|2.1> < nodeinfo.json
//
// Schemas are the draft-04 files in ../fixtures/nodeinfo/ (from
// jhass/nodeinfo), compiled with Ajv's draft-04 class (ajv-draft-04).
// Prints "valid" and exits 0, or prints one line per schema error and
// exits 1 (also exit 1 for unreadable / non-JSON input). Exit 2 on bad usage.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv-draft-04';

const SCHEMAS = { '2.0': 'schema-2.0.json', '2.1': 'schema-2.1.json' };

const version = process.argv[2];
if (process.argv.length !== 3 || !Object.hasOwn(SCHEMAS, version)) {
  process.stderr.write('usage: node nodeinfo-validate.mjs <2.0|2.1> < document.json\n');
  process.exit(2);
}

try {
  const schemaUrl = new URL(`../fixtures/nodeinfo/${SCHEMAS[version]}`, import.meta.url);
  const schema = JSON.parse(readFileSync(schemaUrl, 'utf8'));

  let doc;
  try {
    doc = JSON.parse(readFileSync(0, 'utf8'));
  } catch (e) {
    throw new Error(`stdin is not valid JSON: ${e.message}`);
  }

  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);
  if (validate(doc)) {
    process.stdout.write('valid\n');
    process.exit(0);
  }
  process.stdout.write(`invalid against NodeInfo ${version} schema:\n`);
  for (const e of validate.errors) {
    const where = e.instancePath === '' ? '(root)' : e.instancePath;
    process.stdout.write(`  ${where}: ${e.message} ${JSON.stringify(e.params)} [${e.schemaPath}]\n`);
  }
  process.exit(1);
} catch (err) {
  process.stderr.write(`nodeinfo-validate: error: ${err.message || err}\n`);
  process.exit(1);
}
