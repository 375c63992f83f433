// Builds the widget into relaydesk/widget/static/ (committed; it ships in the wheel):
//   loader.js          – tiny, short cache; knows the bundle's hashed name
//   widget.<hash>.js   – the full widget, immutable
//   manifest.json      – file names and sizes, for the server and the benchmark
// `--check` builds in memory and fails if the committed files differ. The build is
// deterministic: same sources and lockfile, same bytes.
import { build, transform } from "esbuild";
import { createHash } from "node:crypto";
import { readFile, readdir, writeFile, rm, mkdir } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

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

const widget = await build({
  ...common,
  entryPoints: [join(here, "src/widget/main.js")],
  plugins: [cssText],
  banner: { js: "/*! Relaydesk widget (Apache-2.0); includes socket.io-client (MIT) */" },
});
const widgetCode = widget.outputFiles[0].contents;
const bundleName = `widget.${createHash("sha256").update(widgetCode).digest("hex").slice(0, 12)}.js`;

const loader = await build({
  ...common,
  entryPoints: [join(here, "src/loader.js")],
  define: { __BUNDLE__: JSON.stringify(bundleName) },
});
const loaderCode = loader.outputFiles[0].contents;

const gz = (b) => gzipSync(b, { level: 9 }).length;
const manifest = {
  loader: "loader.js",
  bundle: bundleName,
  sizes: {
    "loader.js": { bytes: loaderCode.length, gzip: gz(loaderCode) },
    [bundleName]: { bytes: widgetCode.length, gzip: gz(widgetCode) },
  },
};
const files = new Map([
  ["loader.js", Buffer.from(loaderCode)],
  [bundleName, Buffer.from(widgetCode)],
  ["manifest.json", Buffer.from(JSON.stringify(manifest, null, 2) + "\n")],
]);

const present = (await readdir(out).catch(() => [])).filter((f) => /\.(js|json)$/.test(f));
if (check) {
  const problems = [];
  for (const [name, bytes] of files) {
    const old = await readFile(join(out, name)).catch(() => null);
    if (!old) problems.push(`missing: ${name}`);
    else if (!old.equals(bytes)) problems.push(`differs: ${name}`);
  }
  for (const f of present) if (!files.has(f)) problems.push(`stale: ${f}`);
  if (problems.length) {
    console.error("The committed widget bundle is not a fresh build of widget/src:\n  " + problems.join("\n  ") + "\nRun `npm run build` in widget/ and commit relaydesk/widget/static/.");
    process.exit(1);
  }
  console.log(`widget bundle is up to date (${bundleName})`);
} else {
  await mkdir(out, { recursive: true });
  for (const f of present) if (!files.has(f)) await rm(join(out, f));
  for (const [name, bytes] of files) await writeFile(join(out, name), bytes);
  const s = manifest.sizes;
  console.log(`loader.js ${s["loader.js"].gzip} B gz; ${bundleName} ${s[bundleName].gzip} B gz`);
}
