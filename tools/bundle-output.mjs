// What widget/build.mjs and console/build.mjs share: content-hashed names, a manifest with
// each file's size, and either writing the files or (`--check`) comparing them with the
// committed ones. Node built-ins only, so both packages import it by path.
import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

export const hashed = (stem, ext, code) =>
  `${stem}.${createHash("sha256").update(code).digest("hex").slice(0, 12)}.${ext}`;

const gz = (bytes) => gzipSync(bytes, { level: 9 }).length;

/**
 * Writes `outputs` (file name → bytes) and a manifest.json of `names` plus sizes into
 * `out` (`shown`: the same folder as the message names it), removing stale built files;
 * with `check`, writes nothing and exits 1 if the committed files are not exactly these.
 */
export async function emit({ what, source, out, shown, outputs, names, check }) {
  const sizes = {};
  for (const [name, code] of outputs) sizes[name] = { bytes: code.length, gzip: gz(code) };
  const manifest = { ...names, sizes };
  const files = new Map([...outputs].map(([name, code]) => [name, Buffer.from(code)]));
  files.set("manifest.json", Buffer.from(JSON.stringify(manifest, null, 2) + "\n"));
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
      console.error(
        `The committed ${what} bundle is not a fresh build of ${source}/src:\n  ` +
          `${problems.join("\n  ")}\nRun \`npm run build\` in ${source}/ and commit ${shown}/.`,
      );
      process.exit(1);
    }
    console.log(`${what} bundle is up to date (${names.bundle})`);
    return;
  }
  await mkdir(out, { recursive: true });
  for (const f of present) if (!files.has(f)) await rm(join(out, f));
  for (const [name, bytes] of files) await writeFile(join(out, name), bytes);
  console.log([...outputs.keys()].map((name) => `${name} ${sizes[name].gzip} B gz`).join("; "));
}
