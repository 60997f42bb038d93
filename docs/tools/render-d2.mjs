// Renders D2 diagrams to SVG with @terrastruct/d2 (the D2 compiler built to WebAssembly, run
// in a Node worker thread), so rendering needs no Go toolchain and no global install.
// Usage: node render-d2.mjs --root DIR [--out DIR] FILE.d2...
// Each FILE (under --root) is written to --out (default: --root) at the same relative path
// with .svg for .d2. Every file is tried; failures print "FILE: error" and the exit code is 1.
import { D2 } from "@terrastruct/d2";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

function parseArgs(argv) {
  const opts = { root: null, out: null, files: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--root") opts.root = argv[++i];
    else if (argv[i] === "--out") opts.out = argv[++i];
    else opts.files.push(argv[i]);
  }
  if (!opts.root || opts.files.length === 0) {
    console.error("usage: node render-d2.mjs --root DIR [--out DIR] FILE.d2...");
    process.exit(2);
  }
  opts.out ??= opts.root;
  return opts;
}

// The compiler reports errors as JSON [{range, errmsg: "index:L:C: text"}]; name the file.
function describe(rel, err) {
  const message = String(err?.message ?? err);
  try {
    const errors = JSON.parse(message);
    if (Array.isArray(errors)) {
      return errors.map((e) => `${rel}:${String(e.errmsg ?? e).replace(/^index:/, "")}`).join("\n");
    }
  } catch {
    // not JSON: fall through
  }
  return `${rel}: ${message}`;
}

const opts = parseArgs(process.argv.slice(2));
const d2 = new D2();
let failed = 0;
try {
  // The worker answers one request at a time, so diagrams are compiled sequentially.
  for (const file of opts.files) {
    const rel = path.relative(opts.root, path.resolve(file));
    try {
      const source = await readFile(file, "utf8");
      const compiled = await d2.compile(source, { layout: "elk" });
      const svg = await d2.render(compiled.diagram, { ...compiled.renderOptions, pad: 20 });
      const target = path.join(opts.out, rel.replace(/\.d2$/, ".svg"));
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, svg.endsWith("\n") ? svg : svg + "\n");
      console.log(`rendered ${rel}`);
    } catch (err) {
      failed++;
      console.error(describe(rel, err));
    }
  }
} finally {
  // The WASM worker keeps the event loop alive; end it explicitly.
  d2.worker?.terminate();
}
process.exit(failed ? 1 : 0);
