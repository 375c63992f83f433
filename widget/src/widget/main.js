// The full widget, loaded by the loader on first open or when the browser is idle. It
// takes over the loader's Shadow DOM and API. The parts: context.js (options, locale,
// storage), state.js (the state, declared up front, and the changes the server sends),
// view.js (the DOM), forms.js (prechat, offline, rating, identify), transport.js (the
// socket, sends, uploads); delivery rules are jslib/delivery.js's, shared with the console.
import { api, cfg, ctx, emitEvent, launcher, root, store } from "./context.js";
import { identify } from "./forms.js";
import { loadMarkdown } from "./markdown.js";
import { S, restorePending } from "./state.js";
import { connect, markRead, onInput, sendFiles, submit, watchPage } from "./transport.js";
import { composer, input, panel, picker, prechat, renderAll, renderUnread, scrollEnd, wrap } from "./view.js";

function setOpen(v) {
  v = !!v;
  if (S.open === v) return;
  S.open = v;
  const focusInside = root.activeElement && panel.contains(root.activeElement);
  panel.hidden = !v;
  wrap.classList.toggle("open", v);
  launcher.classList.toggle("open", v);
  launcher.setAttribute("aria-expanded", String(v));
  if (v) {
    connect();
    requestAnimationFrame(() => panel.classList.add("shown"));
    (composer.hidden ? prechat.querySelector("input") : input)?.focus({ preventScroll: true });
    scrollEnd(true);
    markRead();
  } else {
    panel.classList.remove("shown");
    if (focusInside && !cfg.hideLauncher) launcher.focus();
  }
  renderUnread();
  emitEvent(v ? "open" : "close");
}

input.addEventListener("input", onInput);
picker.addEventListener("change", () => {
  sendFiles(picker.files);
  picker.value = "";
});
input.addEventListener("paste", (e) => {
  if (e.clipboardData?.files.length) {
    e.preventDefault();
    sendFiles(e.clipboardData.files);
  }
});
panel.addEventListener("dragover", (e) => {
  if (![...(e.dataTransfer?.types || [])].includes("Files")) return;
  e.preventDefault();
  panel.classList.add("drop");
});
panel.addEventListener("dragleave", (e) => {
  if (!panel.contains(e.relatedTarget)) panel.classList.remove("drop");
});
panel.addEventListener("drop", (e) => {
  panel.classList.remove("drop");
  if (!e.dataTransfer?.files.length) return;
  e.preventDefault();
  sendFiles(e.dataTransfer.files);
});
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    submit();
  }
});
wrap.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && S.open) setOpen(false);
});
const refreshRead = () => {
  markRead();
  renderUnread();
};
document.addEventListener("visibilitychange", refreshRead);
addEventListener("focus", refreshRead);
watchPage();

launcher.onclick = () => setOpen(!S.open);
loadMarkdown();
S.identity = store.json("identity", null);
restorePending();
renderAll();
// A returning visitor (or one with unsent messages) connects now, to get replies and an
// unread badge while the chat is closed; a first-time visitor only when opening it.
if (store.get("token") || S.outbox.size) connect();

Object.assign(api, {
  open: () => setOpen(true),
  close: () => setOpen(false),
  toggle: () => setOpen(!S.open),
  identify,
});
for (const [name, args] of ctx.q.splice(0)) api[name]?.(...args);
emitEvent("ready");
