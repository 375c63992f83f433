// The bundles use markdown-it without the rules our configuration turns off
// (tools/markdown-lite.mjs): that build must render the shared fixtures exactly as the
// full package does.
import { build } from "esbuild";
import MarkdownIt from "markdown-it";
import { markdownLite } from "../../tools/markdown-lite.mjs";
import { markdownCases } from "../../jslib/test/markdown-cases.js";

const bundled = await build({
  stdin: { contents: 'export { default } from "markdown-it";', resolveDir: new URL(".", import.meta.url).pathname },
  bundle: true,
  write: false,
  format: "esm",
  platform: "node",
  plugins: [markdownLite],
});
const url = "data:text/javascript;base64," + Buffer.from(bundled.outputFiles[0].contents).toString("base64");
const Lite = (await import(url)).default;
if (Lite === MarkdownIt) throw new Error("the lite build is the full package");
markdownCases(Lite);
