// Bot answers, agent replies: Markdown through the shared configuration (jslib/markdown.js,
// the same as the server's and the console's). Its HTML is safe by construction (raw HTML
// off, only http(s)/mailto links); `[n]` citation markers become links afterwards.
// markdown-it comes in its own file (markdown-chunk.js), fetched as the widget starts;
// until it arrives (or if it never does) a bubble shows its text as plain text.
import { ctx } from "./context.js";
import { h } from "./dom.js";

let md = null;
const waiting = new Map(); // bubble → [text, cite]: drawn again when markdown-it arrives

export function loadMarkdown() {
  if (md || ctx.onMarkdown) return;
  ctx.onMarkdown = (renderer) => {
    md = renderer;
    for (const [el, [text, cite]] of waiting) setMarkdown(el, text, cite);
    waiting.clear();
  };
  const s = document.createElement("script");
  s.src = ctx.base + __MARKDOWN__;
  s.async = true;
  s.onerror = () => console.warn("Relaydesk: could not load the Markdown renderer");
  document.head.append(s);
}

/** A bubble of Markdown text; `cite(n)` gives the element for marker `[n]`, or null. */
export function markdownBubble(text, cite) {
  const el = h("div", { class: "bubble md", dir: "auto" });
  setMarkdown(el, text, cite);
  return el;
}

export function setMarkdown(el, text, cite) {
  if (!md) {
    el.textContent = text;
    waiting.set(el, [text, cite]);
    return;
  }
  el.innerHTML = md.render(text).trim();
  if (cite) linkCitations(el, cite);
}

function linkCitations(el, cite) {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  const nodes = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) if (/\[\d{1,3}\]/.test(n.data) && !n.parentElement.closest("a, code")) nodes.push(n);
  for (const node of nodes) {
    const out = [];
    let last = 0;
    for (const mt of node.data.matchAll(/\[(\d{1,3})\]/g)) {
      const c = cite(+mt[1]);
      if (!c) continue;
      out.push(node.data.slice(last, mt.index), c);
      last = mt.index + mt[0].length;
    }
    if (!out.length) continue;
    out.push(node.data.slice(last));
    node.replaceWith(...out);
  }
}
