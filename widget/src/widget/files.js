// Attachments: quick checks before upload (the server checks the bytes again), upload
// with progress (XHR: fetch reports none), and display. Files are fetched with the visitor
// token in a header, never in a URL, and shown from blob: URLs.
import { h, icon } from "./dom.js";

export const ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf";
const TYPES = new Set(ACCEPT.split(","));
export const MAX_FILES = 10;
const blobs = new Map(); // attachment id → Promise<blob: URL>

/** Why `file` cannot be sent (a string key), or null; `maxBytes` is the server's limit. */
export function fileProblem(file, maxBytes) {
  if (!file.size) return "fileEmpty";
  if (!TYPES.has(file.type)) return "fileType";
  if (file.size > maxBytes) return "fileTooBig";
  return null;
}

export const isImage = (type) => typeof type === "string" && type.startsWith("image/");

export function sizeLabel(n) {
  if (n < 1024) return n + " B";
  if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
  return (n / 1024 / 1024).toFixed(1) + " MB";
}

// Resolves {ok, attachment} or {ok: false, status, error}; status 0 means no answer.
export function upload(url, token, file, onProgress) {
  return new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open("POST", url);
    x.setRequestHeader("Authorization", "Bearer " + token);
    x.timeout = 120000;
    x.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    const fail = () => resolve({ ok: false, status: 0 });
    x.onerror = x.ontimeout = x.onabort = fail;
    x.onload = () => {
      let body = null;
      try {
        body = JSON.parse(x.responseText);
      } catch {
        // Not JSON (a proxy's error page): judged by the status alone.
      }
      if (x.status === 201 && body?.attachment?.id) resolve({ ok: true, attachment: body.attachment });
      else resolve({ ok: false, status: x.status, error: body?.error });
    };
    const form = new FormData();
    form.append("file", file, file.name);
    x.send(form);
  });
}

// A just-uploaded file is shown from the visitor's own copy, without a download.
export function remember(id, file) {
  blobs.set(id, Promise.resolve(URL.createObjectURL(file)));
}

function blobUrl(a, root, token) {
  let p = blobs.get(a.id);
  if (!p) {
    p = fetch(root + "api/v1/attachments/" + encodeURIComponent(a.id), { headers: { Authorization: "Bearer " + token() } })
      .then((r) => (r.ok ? r.blob() : Promise.reject(r.status)))
      .then((b) => URL.createObjectURL(b));
    p.catch(() => blobs.delete(a.id));
    blobs.set(a.id, p);
  }
  return p;
}

function chip(a, t, extra) {
  return [icon("doc"), h("span", { class: "file-name", dir: "auto" }, a.name), h("span", { class: "file-size" }, sizeLabel(a.size)), extra];
}

// One attachment of a stored message: an image thumbnail (opens full size) or a file
// chip (downloads). `a` comes from the server but is still treated as untrusted text.
export function attachmentView(a, root, token, t) {
  if (!a || typeof a.id !== "string" || typeof a.name !== "string") return null;
  const size = Number.isFinite(a.size) ? a.size : 0;
  a = { id: a.id, name: a.name, size, type: String(a.type) };
  let el;
  const err = () => el.classList.add("bad");
  if (isImage(a.type)) {
    const img = h("img", { alt: a.name, loading: "lazy" });
    el = h("button", { type: "button", class: "attachment img", title: a.name, "aria-label": t("openFile", { name: a.name }) }, img);
    blobUrl(a, root, token).then((u) => (img.src = u), err);
    el.onclick = () => blobUrl(a, root, token).then((u) => open(u, "_blank", "noopener"), err);
  } else {
    el = h("button", { type: "button", class: "attachment file", "aria-label": t("download", { name: a.name }) }, chip(a, t));
    el.onclick = () =>
      blobUrl(a, root, token).then((u) => {
        const link = h("a", { href: u, download: a.name });
        link.click();
      }, err);
  }
  return el;
}

// A file not yet sent: a preview or chip, with a progress bar while it uploads.
export function pendingFileView(f, t, failed) {
  const bar = h("span", { class: "bar" }, h("i", { style: `width:${Math.round((f.progress || 0) * 100)}%` }));
  f.bar = bar.firstChild;
  const preview = isImage(f.type) && f.preview && !failed;
  const body = preview ? [h("img", { src: f.preview, alt: f.name })] : chip(f, t);
  return h(
    "div",
    { class: `attachment uploading ${preview ? "img" : "file"}`, role: "progressbar", "aria-label": t("uploading", { name: f.name }) },
    body,
    f.id || failed ? null : bar,
  );
}
