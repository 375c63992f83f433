// Markdown through the shared configuration (jslib/markdown.js, the same as the widget's
// and the server's): raw HTML stays text, only http(s)/mailto links. Plus the editor's
// line diff.
import MarkdownIt from "markdown-it";
import { createMarkdown } from "../../jslib/markdown.js";
import { h } from "./dom.js";

const md = createMarkdown(MarkdownIt);

/** A `div.md` of the rendered Markdown (markdown-it's HTML is safe by construction). */
export function renderMarkdown(src) {
  const root = h("div", { class: "md" });
  root.innerHTML = md.render(src);
  return root;
}

/** The text without its Markdown, on one line (inbox previews). */
export const plainText = md.plain;

// Line diff by longest common subsequence: [{op: " " | "-" | "+", line}].
export function lineDiff(a, b) {
  const x = String(a || "").split("\n");
  const y = String(b || "").split("\n");
  if (x.length * y.length > 4_000_000) {
    return [...x.map((line) => ({ op: "-", line })), ...y.map((line) => ({ op: "+", line }))];
  }
  const n = x.length;
  const m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push({ op: " ", line: x[i] });
      i++;
      j++;
    } else if (L[i + 1][j] >= L[i][j + 1]) out.push({ op: "-", line: x[i++] });
    else out.push({ op: "+", line: y[j++] });
  }
  while (i < n) out.push({ op: "-", line: x[i++] });
  while (j < m) out.push({ op: "+", line: y[j++] });
  return out;
}
