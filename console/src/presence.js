// Presence: the status selector in the sidebar, and a live map of agents' presence that
// the inbox uses to mark conversations whose owner is away or offline.
import { api, boot, fill, h, t } from "./dom.js";

const STATUSES = ["online", "away", "offline"];
const agents = new Map(); // user id -> {id, name, presence, capacity, open_conversations, ...}
const listeners = new Set();

export const isLead = boot.user.roles.some((r) => r === "admin" || r === "supervisor");

export function onPresenceChange(fn) {
  listeners.add(fn);
}

function changed() {
  for (const fn of listeners) {
    try {
      fn();
    } catch (err) {
      console.warn("presence listener", err);
    }
  }
}

export function presenceOf(userId) {
  return agents.get(userId)?.presence ?? null;
}

export function knownAgents() {
  return [...agents.values()];
}

export async function refreshAgents() {
  try {
    const list = await api("GET", "/api/v1/agents");
    agents.clear();
    for (const a of list) agents.set(a.id, a);
    changed();
  } catch (err) {
    console.warn("agents", err);
  }
}

// A small marker for an inbox row whose owner cannot answer right now.
export function presenceMark(row) {
  if (row.status !== "assigned" || !row.assignee_id) return null;
  const p = presenceOf(row.assignee_id);
  if (!p || p === "online") return null;
  return h("span", { class: `rd-owner-away rd-${p}`, title: t(`console.availability.${p}`) }, h("span", { class: `rd-dot rd-${p}` }), t(`console.availability.${p}`));
}

export function dot(status) {
  return h("span", { class: `rd-dot rd-${status}`, "aria-hidden": "true" });
}

export class PresenceMenu {
  constructor(socket) {
    this.socket = socket;
    this.status = boot.user.availability;
    this.chosen = boot.user.availability;
    this.select = h(
      "select",
      { class: "rd-presence", "aria-label": t("console.presence.label"), onchange: (e) => this.choose(e.target.value) },
      STATUSES.map((s) => h("option", { value: s }, t(`console.availability.${s}`))),
    );
    this.dot = dot(this.status);
    this.root = h("label", { class: "rd-me-meta rd-presence-row" }, this.dot, this.select);
    const slot = document.querySelector(".rd-me .rd-me-meta");
    if (slot && boot.can_inbox) slot.replaceWith(this.root);
    socket.on("presence:updated", ({ presence }) => this.onUpdate(presence));
    socket.on("connect", () => {
      refreshAgents();
      api("GET", "/api/v1/me/presence").then((p) => this.onUpdate(p), () => {});
    });
    this.render();
  }

  async choose(status) {
    this.select.disabled = true;
    let ack;
    try {
      ack = await this.socket.timeout(8000).emitWithAck("presence:set", { status });
    } catch {
      ack = { ok: false };
    }
    this.select.disabled = false;
    if (ack.ok) this.onUpdate(ack.presence);
    else this.render();
  }

  onUpdate(p) {
    const known = agents.get(p.user_id);
    if (known) known.presence = p.status;
    if (p.user_id === boot.user.id) {
      this.status = p.status;
      this.chosen = p.chosen;
      this.render();
    }
    changed();
  }

  render() {
    // While a tab is open the effective status is the chosen one; show the choice.
    this.select.value = this.chosen;
    this.dot.className = `rd-dot rd-${this.chosen}`;
  }
}

export function agentLine(a, extra) {
  return h(
    "span",
    { class: "rd-agent-line" },
    dot(a.presence),
    h("span", { class: "rd-agent-name" }, a.id === boot.user.id ? `${a.name} (${t("console.routing.you")})` : a.name),
    h("span", { class: "rd-agent-load", title: t("console.routing.load") }, `${a.open_conversations}/${a.capacity}`),
    extra || null,
  );
}

export function fillAgents(el, list, render) {
  fill(el, list.length ? list.map(render) : h("li", { class: "rd-empty-row" }, t("console.routing.none")));
}
