// Builds the console into relaydesk/agents_console/static/ (committed; it ships in the wheel):
//   console.<hash>.js / console.<hash>.css – immutable, served at /console/static/
//   manifest.json                         – the hashed names, read by the server
// `--check` builds in memory and fails if the committed files differ. Deterministic:
// same sources and lockfile, same bytes. Same pattern as widget/build.mjs.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFile, readdir, writeFile, rm, mkdir } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

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
  banner: { js: "/*! Relaydesk console (Apache-2.0); includes socket.io-client (MIT) */" },
});
// The admin and profile pages load only this small script (no socket, no inbox).
const adminJs = await build({
  ...common,
  format: "iife",
  entryPoints: [join(here, "src/admin.js")],
  banner: { js: "/*! Relaydesk console admin (Apache-2.0) */" },
});
const css = await build({ ...common, entryPoints: [join(here, "src/console.css")] });
const jsCode = js.outputFiles[0].contents;
const cssCode = css.outputFiles[0].contents;
const hash = (b) => createHash("sha256").update(b).digest("hex").slice(0, 12);
const bundle = `console.${hash(jsCode)}.js`;
const styles = `console.${hash(cssCode)}.css`;
const adminCode = adminJs.outputFiles[0].contents;
const admin = `admin.${hash(adminCode)}.js`;
const gz = (b) => gzipSync(b, { level: 9 }).length;
const manifest = {
  bundle,
  css: styles,
  admin,
  sizes: {
    [bundle]: { bytes: jsCode.length, gzip: gz(jsCode) },
    [styles]: { bytes: cssCode.length, gzip: gz(cssCode) },
    [admin]: { bytes: adminCode.length, gzip: gz(adminCode) },
  },
};
const files = new Map([
  [bundle, Buffer.from(jsCode)],
  [styles, Buffer.from(cssCode)],
  [admin, Buffer.from(adminCode)],
  ["manifest.json", Buffer.from(JSON.stringify(manifest, null, 2) + "\n")],
]);

const present = (await readdir(out).catch(() => [])).filter((f) => /\.(js|css|json)$/.test(f));
if (check) {
  const problems = [];
  for (const [name, bytes] of files) {
    const old = await readFile(join(out, name)).catch(() => null);
    if (!old) problems.push(`missing: ${name}`);
    else if (!old.equals(bytes)) problems.push(`differs: ${name}`);
  }
  for (const f of present) if (!files.has(f)) problems.push(`stale: ${f}`);
  if (problems.length) {
    console.error("The committed console bundle is not a fresh build of console/src:\n  " + problems.join("\n  ") + "\nRun `npm run build` in console/ and commit relaydesk/agents_console/static/.");
    process.exit(1);
  }
  console.log(`console bundle is up to date (${bundle})`);
} else {
  await mkdir(out, { recursive: true });
  for (const f of present) if (!files.has(f)) await rm(join(out, f));
  for (const [name, bytes] of files) await writeFile(join(out, name), bytes);
  console.log(`${bundle} ${manifest.sizes[bundle].gzip} B gz; ${styles} ${manifest.sizes[styles].gzip} B gz`);
}
