// The admin and profile pages: server-rendered forms whose changes go through the REST
// API (same validation and authorization as scripts). Conventions, read from the markup:
//   <form data-api="/api/v1/x/{field}" data-method="PATCH" data-then="reload|stay|clear|/url/{id}|reveal:id">
//   (reveal:id shows the hidden element `id` with the response's `token` in its <code>: a
//   secret shown once, which a reload would lose)
//   fields: name="a.b" nests; data-kind = int | float | bool | lines | checks | checks-int;
//           data-optional omits an empty value; `{field}` in data-api takes the field's value.
//   data-hours on a form turns the hours.* inputs into `business_hours`.
//   data-upload posts the form as multipart.
//   <button data-api data-method [data-body] [data-confirm] [data-then]>: a one-click call.
//   <button data-copy="element-id">: copies that element's text.
const root = document.getElementById("rd-admin-root");
const csrfHeader = root?.dataset.csrfHeader || "X-CSRF-Token";
const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function describe(status, data) {
  const error = data?.error;
  const first = error?.details?.errors?.[0];
  if (first) return `${first.loc.filter((p) => p !== "body").join(".")}: ${first.msg}`;
  return error?.message || `HTTP ${status}`;
}

async function call(method, path, body) {
  const headers = { Accept: "application/json", [csrfHeader]: csrf() };
  let payload = body;
  if (body !== undefined && !(body instanceof FormData)) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) throw new Error(describe(res.status, data));
  return data;
}

function setPath(target, dotted, value) {
  const keys = dotted.split(".");
  let obj = target;
  for (const k of keys.slice(0, -1)) obj = obj[k] ??= {};
  obj[keys[keys.length - 1]] = value;
}

function hours(form) {
  const el = (name) => form.elements.namedItem(name);
  if (el("hours.always")?.checked) return {};
  const weekly = {};
  for (const d of DAYS) {
    if (el(`hours.${d}.open`)?.checked) weekly[d] = [[el(`hours.${d}.start`).value, el(`hours.${d}.end`).value]];
  }
  return { timezone: el("hours.timezone").value.trim() || "UTC", weekly };
}

function serialise(form, used) {
  const body = {};
  for (const input of form.elements) {
    const { name } = input;
    if (!name || input.disabled || used.has(name) || name.startsWith("hours.") || input.type === "submit") continue;
    const kind = input.dataset.kind || "";
    if (kind.startsWith("checks")) {
      const values = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((c) => c.value);
      body[name] = kind === "checks-int" ? values.map(Number) : values;
      used.add(name);
      continue;
    }
    let value = input.value;
    if (kind === "bool") value = input.checked;
    else if (kind === "int") value = value === "" ? null : parseInt(value, 10);
    else if (kind === "float") value = value === "" ? null : parseFloat(value);
    else if (kind === "lines") value = value.split("\n").map((s) => s.trim()).filter(Boolean);
    if (input.dataset.optional !== undefined && (value === "" || value === null)) continue;
    setPath(body, name, value);
  }
  if (form.dataset.hours !== undefined) body.business_hours = hours(form);
  return body;
}

function fillPath(template, values, used) {
  return template.replace(/\{(\w+)\}/g, (_, key) => {
    used.add(key);
    return encodeURIComponent(values[key] ?? "");
  });
}

function status(host, text, ok) {
  let el = host.querySelector(".rd-form-msg");
  if (!el) {
    el = document.createElement("span");
    el.className = "rd-form-msg";
    el.setAttribute("role", "status");
    (host.querySelector(".rd-bar") || host).append(el);
  }
  el.className = `rd-form-msg ${ok ? "rd-msg-ok" : "rd-msg-bad"}`;
  el.textContent = text;
}

function after(then, data, form) {
  if (!then || then === "reload") location.reload();
  else if (then === "clear") form?.reset();
  else if (then.startsWith("reveal:")) {
    const box = document.getElementById(then.slice("reveal:".length));
    if (box) {
      box.querySelector("code").textContent = data?.token ?? "";
      box.hidden = false;
    }
    form?.reset();
  }
  else if (then.startsWith("/")) location.assign(then.replace(/\{(\w+)\}/g, (_, k) => encodeURIComponent(data?.[k] ?? "")));
}

async function submit(form) {
  const used = new Set();
  const values = Object.fromEntries([...new FormData(form)].filter(([, v]) => typeof v === "string"));
  const path = fillPath(form.dataset.api, values, used);
  const button = form.querySelector('[type="submit"]');
  if (button) button.disabled = true;
  try {
    const body = form.dataset.upload !== undefined ? new FormData(form) : serialise(form, used);
    const data = await call(form.dataset.method || "POST", path, body);
    status(form, root.dataset.saved, true);
    after(form.dataset.then, data, form);
  } catch (err) {
    status(form, `${root.dataset.failed}: ${err.message}`, false);
  } finally {
    if (button) button.disabled = false;
  }
}

async function click(button) {
  if (button.dataset.confirm && !confirm(button.dataset.confirm)) return;
  const host = button.closest("form, section") || button.parentElement;
  try {
    const body = button.dataset.body ? JSON.parse(button.dataset.body) : undefined;
    const data = await call(button.dataset.method || "POST", button.dataset.api, body);
    after(button.dataset.then, data);
  } catch (err) {
    status(host, `${root.dataset.failed}: ${err.message}`, false);
  }
}

async function copy(button) {
  const text = document.getElementById(button.dataset.copy)?.textContent || "";
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (plain http): select the text so Ctrl+C works.
    const range = document.createRange();
    range.selectNodeContents(document.getElementById(button.dataset.copy));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
  }
  const label = button.textContent;
  button.textContent = root.dataset.copied;
  setTimeout(() => (button.textContent = label), 1500);
}

// "Always open" makes the weekly hours moot: show them as such.
for (const always of document.querySelectorAll('input[name="hours.always"]')) {
  const days = always.form?.querySelector(".rd-days");
  const sync = () => {
    days?.classList.toggle("off", always.checked);
    for (const input of days?.querySelectorAll("input") || []) input.disabled = always.checked;
  };
  always.addEventListener("change", sync);
  sync();
}

document.addEventListener("submit", (e) => {
  const form = e.target;
  if (form instanceof HTMLFormElement && form.dataset.api) {
    e.preventDefault();
    submit(form);
  }
});
document.addEventListener("click", (e) => {
  const button = e.target.closest("button[data-api], button[data-copy]");
  if (!button || button.type === "submit") return;
  e.preventDefault();
  if (button.dataset.copy) copy(button);
  else click(button);
});
