// This package's markdown-it renders the shared fixture cases exactly as the server's
// markdown-it-py does (tests/test_markdown.py reads the same file).
import MarkdownIt from "markdown-it";
import { markdownCases } from "../../jslib/test/markdown-cases.js";

markdownCases(MarkdownIt);
