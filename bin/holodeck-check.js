#!/usr/bin/env node
// `npx holodeck-check ...` in this checkout: the checker's command line, from its TypeScript
// source (the Salt master gets the bundle of checker/bundle.ts instead).
require("ts-node").register({ transpileOnly: true, project: require("node:path").join(__dirname, "..", "tsconfig.json") });
require("../checker/cli").run(process.argv.slice(2));
