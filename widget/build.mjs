// Builds the widget into relaydesk/widget/static/ (committed; it ships in the wheel):
//   loader.js          – tiny, short cache; knows the bundle's hashed name
//   widget.<hash>.js   – the full widget, immutable
//   widget-md.<hash>.js – markdown-it, fetched by the widget as it starts, immutable
//   manifest.json      – file names and sizes, for the server and the benchmark
// `--check` builds in memory and fails if the committed files differ. The build is
// deterministic: same sources and lockfile, same bytes.
import { build, transform } from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { emit, hashed } from "../tools/bundle-output.mjs";
import { markdownLite } from "../tools/markdown-lite.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = join(here, "..", "relaydesk", "widget", "static");
const check = process.argv.includes("--check");

const cssText = {
  name: "css-text",
  setup(b) {
    b.onLoad({ filter: /\.css$/ }, async (args) => {
      const { code } = await transform(await readFile(args.path, "utf8"), { loader: "css", minify: true });
      return { contents: code.trim(), loader: "text" };
    });
  },
};

const common = {
  bundle: true,
  minify: true,
  write: false,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
};

// markdown-it in a file of its own, fetched by the widget as it starts (markdown.js).
const markdown = await build({
  ...common,
  entryPoints: [join(here, "src/widget/markdown-chunk.js")],
  plugins: [markdownLite],
  banner: { js: "/*! Relaydesk widget Markdown (Apache-2.0); includes markdown-it (MIT) */" },
});
const markdownCode = markdown.outputFiles[0].contents;
const markdownName = hashed("widget-md", "js", markdownCode);

const widget = await build({
  ...common,
  entryPoints: [join(here, "src/widget/main.js")],
  plugins: [cssText],
  define: { __MARKDOWN__: JSON.stringify(markdownName) },
  banner: { js: "/*! Relaydesk widget (Apache-2.0); includes socket.io-client (MIT) */" },
});
const widgetCode = widget.outputFiles[0].contents;
const bundleName = hashed("widget", "js", widgetCode);

const loader = await build({
  ...common,
  entryPoints: [join(here, "src/loader.js")],
  define: { __BUNDLE__: JSON.stringify(bundleName) },
});
const loaderCode = loader.outputFiles[0].contents;

await emit({
  what: "widget",
  source: "widget",
  out,
  shown: "relaydesk/widget/static",
  outputs: new Map([
    ["loader.js", loaderCode],
    [bundleName, widgetCode],
    [markdownName, markdownCode],
  ]),
  names: { loader: "loader.js", bundle: bundleName, markdown: markdownName },
  check,
});
