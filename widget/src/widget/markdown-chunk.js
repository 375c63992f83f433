// Built as its own file (widget-md.<hash>.js): markdown-it is most of the widget's
// weight, and the chat works without it, so it loads beside the bundle, not in it
// (markdown.js fetches it at start and renders the waiting bubbles when it arrives).
import MarkdownIt from "markdown-it";
import { createMarkdown } from "../../../jslib/markdown.js";

window.Relaydesk?._c?.onMarkdown?.(createMarkdown(MarkdownIt));
