// An esbuild plugin for both browser builds: markdown-it without the parts our
// configuration never runs (jslib/lite/): the 77 KB `entities` tables, `linkify-it`, and
// the rules for raw HTML, linkify, typographer and entities, all off in jslib/markdown.js.
// widget/test/markdown-lite.test.js renders the shared fixtures with this build too.
import { fileURLToPath } from "node:url";

const lite = (name) => fileURLToPath(new URL(`../jslib/lite/${name}`, import.meta.url));
const OFF_RULES = /(rules_core\/(smartquotes|replacements|linkify)|rules_inline\/(linkify|html_inline|entity)|rules_block\/html_block)\.mjs$/;

export const markdownLite = {
  name: "markdown-lite",
  setup(b) {
    b.onResolve({ filter: /^entities$/ }, () => ({ path: lite("entities.js") }));
    b.onResolve({ filter: /^linkify-it$/ }, () => ({ path: lite("linkify-it.js") }));
    b.onResolve({ filter: OFF_RULES }, () => ({ path: lite("off.js") }));
  },
};
