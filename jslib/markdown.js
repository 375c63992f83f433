// Markdown for bot answers, agent replies and knowledge-base articles, configured the same
// way as the server's (relaydesk/core/markdown.py, markdown-it-py "js-default"); both must
// render tests/fixtures/markdown_cases.json alike. Sanitized by construction: raw HTML is
// off (it shows as text), images show as links, and only http(s) and mailto links become links
// (anything else, javascript: included, stays text). The caller passes the MarkdownIt
// class so this file imports nothing (each package resolves its own node_modules).

const SAFE_LINK = /^(https?:|mailto:)/i;

export function createMarkdown(MarkdownIt) {
  const md = new MarkdownIt("default", { html: false, linkify: false, typographer: false, breaks: true });
  // Chat text is shown as typed: "&lt;" stays "&lt;" (no entity decoding).
  md.disable("entity");
  md.validateLink = (url) => SAFE_LINK.test(url.trim());
  const linkOpen = md.renderer.rules.link_open || ((tokens, idx, options, env, self) => self.renderToken(tokens, idx, options));
  md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    if (!/^mailto:/i.test(token.attrGet("href") || "")) token.attrSet("target", "_blank");
    token.attrSet("rel", "noopener noreferrer nofollow");
    return linkOpen(tokens, idx, options, env, self);
  };

  // An image becomes a link to it: no tracking pixels or layout surprises in a chat.
  md.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    const alt = md.utils.escapeHtml(self.renderInlineAsText(token.children || [], options, env));
    const href = md.utils.escapeHtml(token.attrGet("src") || "");
    return `<a href="${href}" target="_blank" rel="noopener noreferrer nofollow">${alt}</a>`;
  };

  /** The text without its Markdown, on one line: for previews and notifications. */
  function plain(src) {
    const words = [];
    for (const block of md.parse(String(src ?? ""), {})) {
      if (block.type === "inline") {
        let line = "";
        for (const t of block.children || []) {
          if (t.type === "text" || t.type === "code_inline" || t.type === "image") line += t.content;
          else if (t.type === "softbreak" || t.type === "hardbreak") line += " ";
        }
        words.push(line);
      } else if (block.type === "fence" || block.type === "code_block") words.push(block.content);
    }
    return words.join(" ").replace(/\s+/g, " ").trim();
  }

  return { render: (src) => md.render(String(src ?? "")), plain };
}
