// The browser's Markdown renders the shared fixture cases exactly as the server's does
// (tests/test_markdown.py reads the same file), with the console's own markdown-it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import MarkdownIt from "markdown-it";
import { createMarkdown } from "../../jslib/markdown.js";

const { cases } = JSON.parse(readFileSync(new URL("../../tests/fixtures/markdown_cases.json", import.meta.url), "utf8"));
const md = createMarkdown(MarkdownIt);

for (const c of cases) {
  test(`markdown: ${c.name}`, () => {
    assert.equal(md.render(c.input), c.html);
    assert.equal(md.plain(c.input), c.plain);
  });
}

test("no unsafe output", () => {
  for (const c of cases) {
    const html = md.render(c.input).toLowerCase();
    assert.ok(!html.includes("<script") && !html.includes("<img"), c.name);
    assert.ok(!html.includes('href="javascript') && !html.includes('href="data'), c.name);
  }
});
