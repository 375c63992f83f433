import { h, t, upload } from "./dom.js";
import { errorText } from "./i18n.js";

// Attachments in the console: files picked (or dropped, or pasted) in the reply box are
// uploaded at once with progress; the next send carries their ids. Files in messages are
// shown as thumbnails or file chips; the console is same-origin, so its session cookie
// authorises the downloads.
const ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf";
const TYPES = new Set(ACCEPT.split(","));
const MAX_BYTES = 10 * 1024 * 1024;

const size = (n) => (n < 1024 * 1024 ? `${Math.max(1, Math.round(n / 1024))} KB` : `${(n / 1048576).toFixed(1)} MB`);
const isImage = (type) => typeof type === "string" && type.startsWith("image/");
const fileUrl = (id) => `/api/v1/attachments/${encodeURIComponent(id)}`;

export class Attachments {
  constructor(conv) {
    this.conv = conv;
    this.items = [];
    this.picker = h("input", { type: "file", accept: ACCEPT, multiple: "", hidden: "", onchange: () => this.add(this.picker.files) });
    this.button = h(
      "button",
      { type: "button", class: "rd-btn rd-attach", title: t("console.att.hint"), "aria-label": t("console.att.hint"), onclick: () => this.picker.click() },
      t("console.att.attach"),
    );
    this.tray = h("div", { class: "rd-att-tray", hidden: "" });
    const compose = conv.input.parentElement;
    compose.before(this.tray);
    conv.input.before(this.button, this.picker);
    conv.input.addEventListener("paste", (e) => {
      if (e.clipboardData?.files.length) {
        e.preventDefault();
        this.add(e.clipboardData.files);
      }
    });
    compose.addEventListener("dragover", (e) => e.dataTransfer?.types.includes("Files") && e.preventDefault());
    compose.addEventListener("drop", (e) => {
      if (!e.dataTransfer?.files.length) return;
      e.preventDefault();
      this.add(e.dataTransfer.files);
    });
  }

  add(files) {
    for (const file of [...files]) {
      const item = { file, id: null, failed: false };
      item.bar = h("span", { class: "rd-att-bar" }, h("i"));
      item.status = h("span", { class: "rd-att-status" });
      item.el = h("div", { class: "rd-att-chip" }, h("span", { class: "rd-att-name" }, file.name), h("span", { class: "rd-att-size" }, size(file.size)), item.bar, item.status,
        h("button", { type: "button", class: "rd-link", "aria-label": `${t("console.att.remove")} ${file.name}`, onclick: () => this.remove(item) }, "×"));
      this.items.push(item);
      this.tray.append(item.el);
      if (!TYPES.has(file.type) || !file.size || file.size > MAX_BYTES) this.fail(item, t("console.att.hint"));
      else this.send(item);
    }
    this.tray.hidden = !this.items.length;
    this.picker.value = "";
  }

  async send(item) {
    const form = new FormData();
    form.append("file", item.file, item.file.name);
    item.status.textContent = t("console.att.uploading");
    try {
      const data = await upload(`/api/v1/conversations/${encodeURIComponent(this.conv.id)}/attachments`, form, (x) => (item.bar.firstChild.style.width = `${Math.round(x * 100)}%`));
      item.id = data.attachment.id;
      item.bar.remove();
      item.status.textContent = "";
      item.el.classList.add("done");
    } catch (err) {
      this.fail(item, errorText(err));
    }
  }

  fail(item, message) {
    item.failed = true;
    item.bar.remove();
    item.status.textContent = `${t("console.att.failed")}: ${message}`;
    item.el.classList.add("failed");
  }

  remove(item) {
    this.items = this.items.filter((x) => x !== item);
    item.el.remove();
    this.tray.hidden = !this.items.length;
  }

  // The ids to send with the next message; null while an upload is still running.
  take() {
    if (this.items.some((x) => !x.id && !x.failed)) {
      this.conv.flash?.(t("console.att.wait"));
      return null;
    }
    const ids = this.items.filter((x) => x.id).map((x) => x.id);
    this.items = [];
    this.tray.replaceChildren();
    this.tray.hidden = true;
    return ids;
  }

  reset() {
    this.items = [];
    this.tray.replaceChildren();
    this.tray.hidden = true;
  }
}

// The files a message carries, appended to its bubble; a files-only message shows no text.
export function renderAttachments(m, el) {
  const files = Array.isArray(m.payload?.attachments) ? m.payload.attachments : [];
  if (!files.length) return;
  if (m.payload.text_auto) el.querySelector(".rd-msg-text")?.remove();
  el.append(
    h("div", { class: "rd-atts" },
      files.filter((a) => a && typeof a.id === "string").map((a) =>
        isImage(a.type)
          ? h("a", { class: "rd-att-img", href: fileUrl(a.id), target: "_blank", rel: "noopener", title: a.name }, h("img", { src: fileUrl(a.id), alt: a.name, loading: "lazy" }))
          : h("a", { class: "rd-att-file", href: fileUrl(a.id), download: a.name }, h("span", { class: "rd-att-name" }, a.name), h("span", { class: "rd-att-size" }, size(a.size || 0))),
      )),
  );
}
