// Assign / transfer: a dialog that picks an agent (with presence and load) or a team, and
// the supervisors' "team status" panel that reassigns an away or offline agent's
// conversations in bulk.
import { api, boot, h, t } from "./dom.js";
import { agentLine, dot, fillAgents, isLead, refreshAgents, knownAgents } from "./presence.js";
import { errorText } from "./i18n.js";
import { call } from "./rpc.js";


function flash(text, kind = "bad") {
  const el = h("div", { class: `rd-flash${kind === "ok" ? " ok" : ""}`, role: kind === "ok" ? "status" : "alert" }, text);
  document.body.append(el);
  setTimeout(() => el.remove(), 4000);
}

// A modal dialog: focus moves in, Escape or the backdrop closes it, focus goes back.
function modal(title, body) {
  const previous = document.activeElement;
  const close = () => {
    overlay.remove();
    document.removeEventListener("keydown", onKey, true);
    previous?.focus?.();
  };
  const onKey = (e) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      close();
    }
  };
  const closeButton = h("button", { class: "rd-btn small", onclick: close }, t("console.routing.close"));
  const box = h("div", { class: "rd-modal", role: "dialog", "aria-modal": "true", "aria-label": title },
    h("div", { class: "rd-modal-head" }, h("h2", {}, title), closeButton), body);
  const overlay = h("div", { class: "rd-overlay", onclick: (e) => e.target === overlay && close() }, box);
  document.body.append(overlay);
  document.addEventListener("keydown", onKey, true);
  (box.querySelector("button.rd-pick") || closeButton).focus();
  return close;
}

const siteQuery = (siteId) => (siteId ? `?site=${encodeURIComponent(siteId)}` : "");

async function teamsOf(siteId) {
  try {
    return await api("GET", `/api/v1/teams${siteQuery(siteId)}`);
  } catch {
    return [];
  }
}

async function agentsOf(siteId) {
  try {
    return await api("GET", `/api/v1/agents${siteQuery(siteId)}`);
  } catch {
    return [];
  }
}

// Agent and team lists side by side; `onPick({agent_id}|{team_id})`.
async function picker(siteId, { exclude, onPick, teamsAllowed = true }) {
  const [agents, teams] = await Promise.all([agentsOf(siteId), teamsAllowed ? teamsOf(siteId) : []]);
  const order = { online: 0, away: 1, offline: 2 };
  agents.sort((a, b) => order[a.presence] - order[b.presence] || a.open_conversations - b.open_conversations || a.name.localeCompare(b.name));
  const agentList = h("ul", { class: "rd-pick-list" });
  fillAgents(agentList, agents.filter((a) => a.id !== exclude), (a) =>
    h("li", {}, h("button", { class: `rd-pick${a.open_conversations >= a.capacity ? " full" : ""}`, dataset: { agent: String(a.id) }, onclick: () => onPick({ agent_id: a.id }) }, agentLine(a))),
  );
  const teamList = h("ul", { class: "rd-pick-list" });
  fillAgents(teamList, teams, (tm) =>
    h("li", {}, h("button", { class: "rd-pick", dataset: { team: String(tm.id) }, onclick: () => onPick({ team_id: tm.id }) },
      h("span", { class: "rd-agent-name" }, tm.name),
      h("span", { class: "rd-tag" }, t(`console.routing.${tm.routing_mode}`)))),
  );
  return h("div", { class: "rd-pick-grid" },
    h("section", {}, h("h3", {}, t("console.routing.agents")), agentList),
    teamsAllowed ? h("section", {}, h("h3", {}, t("console.routing.teams")), teamList) : null);
}

// The header button of an open conversation, or null when the user may not move it.
export function transferButton(conversation, socket, onDone) {
  const c = conversation.conv;
  if (!c) return null;
  const mine = c.status === "assigned" && c.assignee_id === boot.user.id;
  const lead = isLead && c.status !== "resolved";
  if (!mine && !lead) return null;
  const label = mine || c.status === "assigned" ? t("console.routing.transfer") : t("console.routing.assign");
  return h("button", { class: "rd-btn", dataset: { action: "transfer" }, onclick: () => openTransfer(c, socket, onDone) }, label);
}

async function openTransfer(c, socket, onDone) {
  let close = () => {};
  const onPick = async (target) => {
    // A supervisor giving out a waiting conversation assigns it; anything else transfers.
    const assigning = target.agent_id && c.status !== "assigned";
    const event = assigning ? "conversation:assign" : "conversation:transfer";
    const payload = assigning ? { conversation_id: c.id, agent_id: target.agent_id } : { conversation_id: c.id, ...target };
    const ack = await call(socket, event, payload);
    if (!ack.ok) return flash(errorText(ack.error));
    close();
    flash(t("console.routing.done"), "ok");
    onDone(ack.conversation);
    refreshAgents();
  };
  const body = await picker(c.site_id, { exclude: c.assignee_id, onPick });
  close = modal(c.status === "assigned" ? t("console.routing.transfer_title") : t("console.routing.assign_title"), body);
}

// Supervisors: who is online, how loaded, and one action to move an absent agent's work.
export class TeamStatus {
  constructor(socket) {
    this.socket = socket;
    this.button = isLead ? h("button", { class: "rd-link rd-team-status", onclick: () => this.open() }, t("console.routing.team_status")) : null;
    const me = document.querySelector(".rd-me .rd-me-name");
    if (this.button && me && boot.can_inbox) me.after(this.button);
  }

  async open() {
    await refreshAgents();
    const list = h("ul", { class: "rd-pick-list" });
    const render = () =>
      fillAgents(list, knownAgents(), (a) =>
        h("li", { class: "rd-status-row" }, agentLine(a,
          a.open_conversations && a.presence !== "online"
            ? h("button", { class: "rd-btn small", dataset: { reassign: String(a.id) }, onclick: () => this.reassign(a, render) }, t("console.routing.reassign"))
            : null)),
      );
    render();
    this.close = modal(t("console.routing.team_status"), h("div", {}, h("p", { class: "muted" }, t("console.routing.team_hint")), list));
  }

  async owned(agentId) {
    const ids = [];
    let cursor = null;
    do {
      const q = new URLSearchParams({ view: "all", limit: "100" });
      if (cursor) q.set("cursor", cursor);
      const page = await api("GET", `/api/v1/conversations?${q}`);
      for (const row of page.items) if (row.status === "assigned" && row.assignee_id === agentId) ids.push(row.id);
      cursor = page.next_cursor;
    } while (cursor && ids.length < 200);
    return ids;
  }

  async reassign(agent, rerender) {
    const ids = await this.owned(agent.id);
    if (!ids.length) return rerender();
    // The agent's conversations may span sites: offer everyone the supervisor can see.
    const site = boot.sites.length === 1 ? boot.sites[0].id : null;
    let closePick = () => {};
    const onPick = async (target) => {
      let result;
      try {
        result = await api("POST", "/api/v1/conversations/reassign", { conversation_ids: ids, ...target });
      } catch (err) {
        return flash(errorText(err));
      }
      closePick();
      const failed = Object.keys(result.failed).length;
      flash(`${t("console.routing.reassigned")}: ${result.moved.length}${failed ? ` · ${failed} ✗` : ""}`, failed ? "bad" : "ok");
      await refreshAgents();
      rerender();
    };
    const title = `${t("console.routing.reassign_title")} ${agent.name} (${ids.length})`;
    const body = await picker(site, { exclude: agent.id, onPick });
    closePick = modal(title, h("div", {}, h("p", { class: "muted" }, dot(agent.presence), " ", t(`console.availability.${agent.presence}`)), body));
  }
}
