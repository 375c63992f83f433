// Stands in for the `entities` package in the browser bundles (tools/markdown-lite.mjs):
// its tables are 77 KB, and with markdown-it's entity rule off (jslib/markdown.js) named
// entities are only decoded inside link destinations and titles, where these suffice.
const NAMED = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

export function decodeHTML(str) {
  return str.replace(/&([a-z]+);/gi, (m, name) => NAMED[name.toLowerCase()] ?? m);
}

export const decodeHTMLStrict = decodeHTML;
