// Words for the codes the server sends (handoff reasons, sender kinds, languages), in the
// console's UI language. The server has the same labels (relaydesk/bot/summary.py).
import { boot, t, tf } from "./dom.js";

const REASONS = new Set(["visitor_asked", "visitor_request", "low_confidence", "frustration"]);

export function reasonLabel(code) {
  if (!code) return "";
  if (code.startsWith("keyword:")) return tf("console.reason.keyword", { keyword: code.slice(8) });
  return REASONS.has(code) ? t(`console.reason.${code}`) : tf("console.reason.other", { code });
}

// The bot and the system always get the reader's word for them, whatever name the server
// stored; people keep their names.
export function senderLabel(sender) {
  if (sender.kind === "bot" || sender.kind === "system") return t(`console.sender.${sender.kind}`);
  return sender.name || t(sender.kind === "visitor" ? "console.sender.visitor" : "console.sender.agent");
}

export function languageName(code) {
  if (!code) return "";
  const base = code.toLowerCase().split(/[-_]/)[0];
  const key = `console.lang.${base}`;
  return key in boot.strings ? t(key) : code;
}

// A summary line "label: content" with the reader's punctuation.
export function colon() {
  return boot.locale === "zh" ? "：" : ": ";
}

export function quote(text) {
  return boot.locale === "zh" ? `“${text}”` : `"${text}"`;
}

// A refusal from the server in the reader's language when its code is known (the server's
// `message` is English, for logs and API clients); otherwise the server's message.
export function errorText(error) {
  if (!error) return t("console.error");
  if (error.code === "already_assigned") {
    const name = error.details?.assignee_name;
    return name ? tf("console.errors.already_assigned", { name }) : t("console.errors.already_assigned_other");
  }
  const key = `console.errors.${error.code}`;
  return key in boot.strings ? t(key) : error.message || t("console.error");
}
