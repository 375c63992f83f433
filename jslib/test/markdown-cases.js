// The shared Markdown fixtures as node tests, for a given MarkdownIt (each package passes
// its own installed markdown-it): the same cases tests/test_markdown.py runs on the server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createMarkdown } from "../markdown.js";

const { cases } = JSON.parse(readFileSync(new URL("../../tests/fixtures/markdown_cases.json", import.meta.url), "utf8"));

export function markdownCases(MarkdownIt) {
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
}
