// ESLint for all browser code: widget/, console/, jslib/ and the build tools. Run through
// `npm run lint` in widget/ or console/ (from this folder, so this config applies); ESLint
// and its plugins are those packages' devDependencies, resolved next to the running ESLint.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(pathToFileURL(process.argv[1]).href);
const load = async (name) => (await import(pathToFileURL(require.resolve(name)).href)).default;
const js = await load("@eslint/js");
const globals = await load("globals");

export default [
  { ignores: ["**/node_modules/**", "relaydesk/**"] },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.node, __BUNDLE__: "readonly", __MARKDOWN__: "readonly" },
    },
    rules: {
      ...js.configs.recommended.rules,
      eqeqeq: ["error", "always"],
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      "no-var": "error",
      "prefer-const": "error",
    },
  },
];
