import { h, safeUrl, t, when } from "./dom.js";

// Parts of the conversation's visitor panel: the page the visitor is on and their earlier
// conversations. Both come from `GET /api/v1/conversations/{id}`; text is always text.

export function pageLink(visitor) {
  const url = safeUrl(visitor?.last_page_url);
  if (!url) return null;
  return h("a", { class: "rd-page-link", href: url, target: "_blank", rel: "noopener noreferrer", title: url }, visitor.last_page_title || url);
}

export function earlierList(earlier) {
  if (!earlier?.length) return null;
  // Stay in the inbox view the agent is in; only the conversation changes.
  const view = location.hash.replace(/^#\/?/, "").split("/")[1] || "queue";
  return h(
    "div",
    { class: "rd-earlier" },
    h("h3", {}, t("console.details.earlier")),
    h(
      "ul",
      {},
      earlier.map((c) =>
        h(
          "li",
          {},
          h(
            "a",
            { href: `#/inbox/${encodeURIComponent(view)}/${encodeURIComponent(c.id)}`, dataset: { id: c.id } },
            h("span", { class: "rd-earlier-top" }, h("span", { class: "rd-earlier-date" }, when(c.created_at)), h("span", { class: `rd-status s-${c.status}` }, t(`console.status.${c.status}`))),
            h("span", { class: "rd-earlier-snippet" }, c.last_message || t("console.details.no_message")),
          ),
        ),
      ),
    ),
  );
}
