// An esbuild plugin for both browser builds: markdown-it without the parts our
// configuration never uses (jslib/lite/: the 77 KB `entities` tables and `linkify-it`).
// The node tests run the real packages against the shared fixtures, so a divergence shows.
import { fileURLToPath } from "node:url";

const lite = {
  entities: fileURLToPath(new URL("../jslib/lite/entities.js", import.meta.url)),
  "linkify-it": fileURLToPath(new URL("../jslib/lite/linkify-it.js", import.meta.url)),
};

export const markdownLite = {
  name: "markdown-lite",
  setup(b) {
    b.onResolve({ filter: /^(entities|linkify-it)$/ }, (args) => ({ path: lite[args.path] }));
  },
};
