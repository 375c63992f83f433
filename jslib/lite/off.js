// Stands in for markdown-it rules our configuration turns off (tools/markdown-lite.mjs):
// raw HTML, linkify, typographer (smartquotes, replacements) and entities. Each of them
// returns at once under jslib/markdown.js's options; this one always does.
export default function off() {
  return false;
}
