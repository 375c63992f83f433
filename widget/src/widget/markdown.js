// Bot answers, agent replies: Markdown through the shared configuration (jslib/markdown.js,
// the same as the server's and the console's). Its HTML is safe by construction (raw HTML
// off, only http(s)/mailto links); `[n]` citation markers become links afterwards.
// markdown-it comes in its own file (markdown-chunk.js, fetched as the widget starts): with
// it the bundle would pass its 45 KB gzip budget. Raw Markdown is never shown meanwhile: a
// bubble waits with typing dots (the chunk usually arrives before the first message does),
// and if the chunk is HOLD_MS late or cannot load, shows its text without `**`/`__`/`~~`
// until it arrives. A failed fetch is retried (network blips on mobile).
import { ctx } from "./context.js";
import { h } from "./dom.js";

const HOLD_MS = 3000;
const RETRIES = [1000, 3000, 9000];
let md = null;
let late = false; // the renderer is late or missing: waiting bubbles show unmarked text
const waiting = new Map(); // bubble → [text, cite]: drawn again when markdown-it arrives

export function loadMarkdown() {
  if (md || ctx.onMarkdown) return;
  ctx.onMarkdown = (renderer) => {
    md = renderer;
    for (const [el, [text, cite]] of waiting) setMarkdown(el, text, cite);
    waiting.clear();
  };
  setTimeout(() => {
    if (md) return;
    late = true;
    for (const [el, [text]] of waiting) showUnmarked(el, text);
  }, HOLD_MS);
  fetchRenderer(0);
}

function fetchRenderer(attempt) {
  const s = document.createElement("script");
  s.src = ctx.base + __MARKDOWN__;
  s.async = true;
  s.onerror = () => {
    s.remove();
    if (attempt < RETRIES.length) setTimeout(() => fetchRenderer(attempt + 1), RETRIES[attempt]);
    else console.warn("Relaydesk: could not load the Markdown renderer");
  };
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
    waiting.set(el, [text, cite]);
    if (late) showUnmarked(el, text);
    else if (!el.querySelector(".dots")) {
      el.setAttribute("aria-busy", "true");
      el.replaceChildren(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")));
    }
    return;
  }
  el.removeAttribute("aria-busy");
  el.innerHTML = md.render(text).trim();
  if (cite) linkCitations(el, cite);
}

/** The last resort while markdown-it is missing: the text, without its emphasis markers. */
function showUnmarked(el, text) {
  el.removeAttribute("aria-busy");
  el.textContent = String(text ?? "").replace(/\*\*|__|~~/g, "");
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
