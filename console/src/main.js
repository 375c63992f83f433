import { io } from "socket.io-client";
import { boot, clear, h, t } from "./dom.js";
import { Inbox } from "./inbox.js";
import { KnowledgeBase } from "./kb.js";
import { PresenceMenu, onPresenceChange } from "./presence.js";
import { TeamStatus } from "./transfer.js";

const main = document.getElementById("rd-main");
const socket = io("/console", {
  transports: ["websocket", "polling"],
  withCredentials: true,
  // The cookie alone does not open the socket: the page's CSRF token proves it is ours.
  auth: (cb) => cb({ csrf: document.querySelector('meta[name="csrf-token"]').content }),
  reconnectionDelay: 400,
  reconnectionDelayMax: 8000,
});
const banner = h("div", { class: "rd-banner", role: "status", hidden: true }, t("console.conv.reconnecting"));
document.body.append(banner);
let connectedOnce = false;
socket.on("connect", () => {
  banner.hidden = true;
  // Whatever changed before this connect (or while disconnected) was not pushed to us.
  if (connectedOnce) inbox.resync();
  else if (inbox.loaded) inbox.load(true);
  connectedOnce = true;
});
socket.on("disconnect", () => (banner.hidden = false));
socket.on("connect_error", () => (banner.hidden = false));
window.addEventListener("online", () => socket.connected || socket.connect());

const inbox = new Inbox(socket);
const kb = new KnowledgeBase();
new PresenceMenu(socket);
new TeamStatus(socket);
onPresenceChange(() => inbox.renderList());
let current = null;

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  let section = parts[0] || (boot.can_inbox ? "inbox" : "kb");
  if (section === "inbox" && !boot.can_inbox) section = "kb";
  document.querySelectorAll("[data-nav]").forEach((a) => {
    a.classList.toggle("active", a.dataset.nav === section);
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  const next = section === "kb" ? kb : inbox;
  if (current !== next) {
    current?.unmount?.();
    clear(main);
    main.append(next.root);
    current = next;
  }
  next.show(parts.slice(1));
}
window.addEventListener("hashchange", route);
route();
window.relaydeskConsole = { socket, inbox, kb };
