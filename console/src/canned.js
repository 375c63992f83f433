// Canned responses in the reply box: typing "/" and a prefix at the start of a word opens
// a list of the site's matching shortcuts; Up/Down move, Enter or Tab inserts, Escape
// closes. The list is fetched once per site and filtered here.
import { api, h, t } from "./dom.js";

const TOKEN = /(^|\s)\/([a-z0-9-]*)$/;

export class CannedPicker {
  constructor(input, siteId) {
    this.input = input;
    this.siteId = siteId;
    this.cache = new Map();
    this.items = [];
    this.index = 0;
    this.match = null;
    this.list = h("ul", { class: "rd-canned", role: "listbox", "aria-label": t("console.canned.hint"), hidden: true });
    input.setAttribute("aria-autocomplete", "list");
    input.addEventListener("input", () => this.update());
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  mount() {
    // The compose box is built after the input; attach beside it on first use.
    if (!this.list.isConnected && this.input.parentElement) this.input.parentElement.prepend(this.list);
  }

  async responses(site) {
    if (!this.cache.has(site)) {
      this.cache.set(site, api("GET", `/api/v1/canned-responses?site=${site}`).catch(() => {
        this.cache.delete(site);
        return [];
      }));
    }
    return this.cache.get(site);
  }

  async update() {
    const el = this.input;
    const before = el.value.slice(0, el.selectionStart ?? el.value.length);
    const found = TOKEN.exec(before);
    const site = this.siteId();
    if (!found || !site) return this.close();
    const prefix = found[2];
    const all = await this.responses(site);
    if (TOKEN.exec(el.value.slice(0, el.selectionStart ?? el.value.length))?.[2] !== prefix) return;
    this.match = { start: before.length - prefix.length - 1, end: before.length };
    this.items = all.filter((r) => r.shortcut.startsWith(prefix)).slice(0, 8);
    this.index = 0;
    this.render();
  }

  render() {
    this.mount();
    this.list.replaceChildren(
      ...(this.items.length
        ? this.items.map((r, i) =>
            h("li", {
              role: "option",
              id: `rd-canned-${r.id}`,
              class: i === this.index ? "on" : "",
              "aria-selected": i === this.index ? "true" : "false",
              onmousedown: (e) => {
                e.preventDefault();
                this.index = i;
                this.choose();
              },
            }, h("b", {}, `/${r.shortcut}`), h("span", {}, r.title), h("small", {}, r.text)))
        : [h("li", { class: "rd-canned-none" }, t("console.canned.none"))]),
    );
    this.list.hidden = false;
    const current = this.items[this.index];
    if (current) this.input.setAttribute("aria-activedescendant", `rd-canned-${current.id}`);
  }

  close() {
    this.list.hidden = true;
    this.items = [];
    this.match = null;
    this.input.removeAttribute("aria-activedescendant");
  }

  get open() {
    return !this.list.hidden;
  }

  choose() {
    const item = this.items[this.index];
    if (!item || !this.match) return this.close();
    const el = this.input;
    el.value = el.value.slice(0, this.match.start) + item.text + el.value.slice(this.match.end);
    const caret = this.match.start + item.text.length;
    el.focus();
    el.selectionStart = el.selectionEnd = caret;
    this.close();
    el.dispatchEvent(new Event("input"));
  }

  // Returns true when the key was for the list (the reply box must then ignore it).
  onKeyDown(e) {
    if (!this.open) return false;
    if (e.key === "Escape") {
      e.preventDefault();
      this.close();
      return true;
    }
    if (!this.items.length) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const n = this.items.length;
      this.index = (this.index + (e.key === "ArrowDown" ? 1 : n - 1)) % n;
      this.render();
      return true;
    }
    if ((e.key === "Enter" && !e.shiftKey && !e.isComposing) || e.key === "Tab") {
      e.preventDefault();
      this.choose();
      return true;
    }
    return false;
  }
}
