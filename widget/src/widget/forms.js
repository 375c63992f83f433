// The widget's forms: before the chat (name and email), when no one is online (email and
// message), and after it (rating), plus `Relaydesk.identify`, which the first one feeds.
import { h } from "./dom.js";
import { EMAIL, cfg, store, t } from "./context.js";
import { S } from "./state.js";
import { call } from "./transport.js";
import { composer, input, prechat, renderCards } from "./view.js";

function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

export function offlineForm() {
  const email = h("input", { type: "email", required: true, autocomplete: "email", maxlength: 320, value: S.identity?.email || "" });
  const msg = h("textarea", { rows: 3, required: true, maxlength: 5000 });
  const err = h("div", { class: "form-error", role: "alert" });
  return h(
    "form",
    {
      class: "card form offline",
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        if (!EMAIL.test(email.value.trim())) return (err.textContent = t("invalidEmail"));
        if (!msg.value.trim()) return msg.focus();
        const r = await call("offline:submit", { conversation_id: S.conv.id, email: email.value.trim(), message: msg.value.trim() });
        if (!r?.ok) return (err.textContent = r?.error?.message || t("reconnecting"));
        store.set("offline:" + S.conv.id, "1");
        renderCards();
      },
    },
    h("h3", {}, t("offlineTitle")),
    h("p", {}, t("offlineText")),
    field(t("email"), email),
    field(t("message"), msg),
    err,
    h("button", { type: "submit", class: "primary" }, t("submit")),
  );
}

export function csatForm() {
  let score = 0;
  const send = h("button", { type: "submit", class: "primary", disabled: true }, t("csatSubmit"));
  const stars = [1, 2, 3, 4, 5].map((n) =>
    h(
      "button",
      {
        type: "button",
        class: "star",
        role: "radio",
        "aria-checked": "false",
        "aria-label": t("star", { n }),
        onclick: () => {
          score = n;
          stars.forEach((s, i) => {
            s.setAttribute("aria-checked", String(i + 1 === n));
            s.classList.toggle("on", i < n);
          });
          send.disabled = false;
        },
      },
      "★",
    ),
  );
  const comment = h("textarea", { rows: 2, maxlength: 2000, placeholder: t("csatComment"), "aria-label": t("csatComment") });
  const err = h("div", { class: "form-error", role: "alert" });
  return h(
    "form",
    {
      class: "card form csat",
      onsubmit: async (e) => {
        e.preventDefault();
        if (!score) return;
        const body = { conversation_id: S.conv.id, score };
        if (comment.value.trim()) body.comment = comment.value.trim();
        const r = await call("csat:submit", body);
        if (!r?.ok) return (err.textContent = r?.error?.message || t("reconnecting"));
        store.set("csat:" + S.conv.id, "1");
        renderCards();
      },
    },
    h("h3", {}, t("csatTitle")),
    h("div", { class: "stars", role: "radiogroup", "aria-label": t("csatTitle") }, stars),
    comment,
    err,
    send,
  );
}

export function renderPrechat() {
  const show = cfg.prechat && !store.get("prechat") && !S.timeline.size && !S.outbox.size;
  prechat.hidden = !show;
  composer.hidden = show;
  if (!show || prechat.firstChild) return;
  const name = h("input", { type: "text", autocomplete: "name", maxlength: 200 });
  const email = h("input", { type: "email", autocomplete: "email", maxlength: 320 });
  const err = h("div", { class: "form-error", role: "alert" });
  prechat.append(
    h(
      "form",
      {
        class: "form",
        novalidate: true,
        onsubmit: (e) => {
          e.preventDefault();
          const em = email.value.trim();
          if (em && !EMAIL.test(em)) return (err.textContent = t("invalidEmail"));
          store.set("prechat", "1");
          identify({ name: name.value.trim() || undefined, email: em || undefined });
          renderPrechat();
          input.focus();
        },
      },
      h("h3", {}, t("prechatTitle")),
      field(t("name"), name),
      field(t("email"), email),
      err,
      h("button", { type: "submit", class: "primary" }, t("start")),
    ),
  );
}

export function identify(o) {
  if (!o || typeof o !== "object") return console.warn("Relaydesk: identify() takes an object");
  const id = {};
  for (const k of ["id", "name", "email", "user_hash"]) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== "string" || v.length > 320 || (k === "email" && !EMAIL.test(v))) console.warn(`Relaydesk: identify() ignores an invalid ${k}`);
    else id[k] = v;
  }
  S.identity = { ...S.identity, ...id };
  store.setJson("identity", S.identity);
  sendIdentity();
}

export function sendIdentity() {
  if (S.identity && S.connected && Object.keys(S.identity).length) call("visitor:identify", S.identity);
}
