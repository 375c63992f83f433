// Tiny DOM helpers. Strings always become text nodes: nothing here parses HTML.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Replace an element's children; null/false children are skipped, arrays flattened.
export function fill(el, ...children) {
  return append(clear(el), children);
}

export function safeUrl(url) {
  return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null;
}

const boot = JSON.parse(document.getElementById("rd-boot").textContent);
export { boot };

export function t(key) {
  return boot.strings[key] ?? key;
}

// `t` with `{name}` placeholders filled, as relaydesk.core.i18n.message does on the server.
export function tf(key, values) {
  return t(key).replace(/\{(\w+)\}/g, (m, name) => (values[name] ?? m));
}

export function ago(iso) {
  if (!iso) return "";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (s < 60) return tf("console.ago.s", { n: s });
  if (s < 3600) return tf("console.ago.m", { n: Math.floor(s / 60) });
  if (s < 86400) return tf("console.ago.h", { n: Math.floor(s / 3600) });
  return tf("console.ago.d", { n: Math.floor(s / 86400) });
}

export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(boot.locale === "zh" ? "zh-CN" : "en", {
    dateStyle: "medium",
    timeStyle: "short",
  });
}

export class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.code = error?.code || "http_error";
    this.details = error?.details;
  }
}

const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

// Every REST call of the console: cookie auth, plus the CSRF header on writes.
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers[boot.csrf_header] = csrf();
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: "same-origin" });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data?.error);
  return data;
}

// XHR rather than fetch: only XHR reports upload progress.
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    xhr.setRequestHeader(boot.csrf_header, csrf());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        // Not JSON: the status decides.
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data?.error));
    };
    xhr.onerror = () => reject(new ApiError(0, { code: "network", message: "network error" }));
    xhr.send(form);
  });
}
