// Builds the console into relaydesk/agents_console/static/ (committed; it ships in the wheel):
//   console.<hash>.js / console.<hash>.css – immutable, served at /console/static/
//   manifest.json                         – the hashed names, read by the server
// `--check` builds in memory and fails if the committed files differ. Deterministic:
// same sources and lockfile, same bytes. Same pattern as widget/build.mjs.
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { emit, hashed } from "../tools/bundle-output.mjs";
import { markdownLite } from "../tools/markdown-lite.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const out = join(here, "..", "relaydesk", "agents_console", "static");
const check = process.argv.includes("--check");

const common = {
  bundle: true,
  minify: true,
  write: false,
  platform: "browser",
  target: ["es2020"],
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
};

const js = await build({
  ...common,
  format: "iife",
  entryPoints: [join(here, "src/main.js")],
  plugins: [markdownLite],
  banner: { js: "/*! Relaydesk console (Apache-2.0); includes socket.io-client (MIT) */" },
});
// The admin and profile pages load only this small script (no socket, no inbox).
const adminJs = await build({
  ...common,
  format: "iife",
  entryPoints: [join(here, "src/admin.js")],
  banner: { js: "/*! Relaydesk console admin (Apache-2.0) */" },
});
// The analytics dashboard loads only this bundle (with uPlot): the inbox's does not grow.
const analyticsJs = await build({
  ...common,
  format: "iife",
  entryPoints: [join(here, "src/analytics.js")],
  banner: { js: "/*! Relaydesk analytics (Apache-2.0); includes uPlot (MIT) */" },
});
const analyticsCss = await build({ ...common, entryPoints: [join(here, "src/analytics.css")] });
const css = await build({ ...common, entryPoints: [join(here, "src/console.css")] });
const jsCode = js.outputFiles[0].contents;
const cssCode = css.outputFiles[0].contents;
const bundle = hashed("console", "js", jsCode);
const styles = hashed("console", "css", cssCode);
const adminCode = adminJs.outputFiles[0].contents;
const admin = hashed("admin", "js", adminCode);
const analyticsCode = analyticsJs.outputFiles[0].contents;
const analytics = hashed("analytics", "js", analyticsCode);
const analyticsStyles = analyticsCss.outputFiles[0].contents;
const analyticsCssName = hashed("analytics", "css", analyticsStyles);
await emit({
  what: "console",
  source: "console",
  out,
  shown: "relaydesk/agents_console/static",
  outputs: new Map([
    [bundle, jsCode],
    [styles, cssCode],
    [admin, adminCode],
    [analytics, analyticsCode],
    [analyticsCssName, analyticsStyles],
  ]),
  names: { bundle, css: styles, admin, analytics, analytics_css: analyticsCssName },
  check,
});
