import { fill, api, boot, clear, h, t, upload, when } from "./dom.js";
import { lineDiff, renderMarkdown } from "./markdown.js";
import { languageName } from "./i18n.js";

const KB = "/api/v1/knowledge";
const LANGUAGES = ["en", "zh"];
const CJK = /[\u3400-\u9fff\uf900-\ufaff]/gu;

// `zh` for text that is mostly Chinese, `en` for other text, null with no letters yet
// (the server's rule, relaydesk/knowledge/importers/text.py).
export function detectLanguage(text) {
  const letters = (text.match(/\p{L}/gu) || []).length;
  if (!letters) return null;
  return (text.match(CJK) || []).length / letters > 0.3 ? "zh" : "en";
}

// The language of an article or FAQ entry as a choice. A new one starts in the console's
// language and follows what is typed (`sources`) until the editor picks one by hand; a
// language from an import that is not offered stays as it is.
function languageField(value, readonly, sources) {
  const current = value || (boot.locale === "zh" ? "zh" : "en");
  const codes = LANGUAGES.includes(current) ? LANGUAGES : [...LANGUAGES, current];
  const select = h("select", { class: "rd-input rd-locale", name: "locale", "aria-label": t("console.kb.locale"), disabled: readonly },
    codes.map((code) => h("option", { value: code, selected: code === current }, LANGUAGES.includes(code) ? languageName(code) : `${languageName(code)} (${code})`)));
  if (!value && !readonly) {
    let chosen = false;
    select.addEventListener("change", () => (chosen = true));
    const follow = () => {
      const found = chosen ? null : detectLanguage(sources.map((el) => el.value).join("\n"));
      if (found) select.value = found;
    };
    for (const el of sources) el.addEventListener("input", follow);
  }
  return select;
}

export class KnowledgeBase {
  constructor() {
    this.canEdit = boot.can_edit_kb;
    this.site = localStorage.getItem("rd.site") || String(boot.sites[0]?.id ?? "");
    if (!boot.sites.some((s) => String(s.id) === this.site)) this.site = String(boot.sites[0]?.id ?? "");
    this.tab = "articles";
    this.article = null;
    this.search = h("input", { type: "search", class: "rd-input", placeholder: t("console.kb.search"), "aria-label": t("console.kb.search"), oninput: () => this.debouncedList() });
    this.list = h("ul", { class: "rd-list rd-kb-list" });
    this.tabs = h("div", { class: "rd-tabs" });
    this.editor = h("section", { class: "rd-kb-editor" });
    this.tools = h("aside", { class: "rd-kb-tools" });
    const siteSelect = boot.sites.length > 1
      ? h("select", { class: "rd-site", "aria-label": "site", onchange: (e) => { this.site = e.target.value; localStorage.setItem("rd.site", this.site); this.loadList(); this.showEmpty(); } },
          boot.sites.map((s) => h("option", { value: String(s.id), selected: String(s.id) === this.site }, s.name)))
      : null;
    this.root = h("div", { class: "rd-kb" },
      h("aside", { class: "rd-col" },
        h("div", { class: "rd-col-head" }, this.tabs, siteSelect),
        h("div", { class: "rd-kb-search" }, this.search,
          this.canEdit ? this.newButton = h("button", { class: "rd-btn primary", dataset: { action: "new" }, onclick: () => (location.hash = this.tab === "faqs" ? "#/kb/newf" : "#/kb/new") }, t("console.kb.new")) : null),
        this.list),
      this.editor, this.tools);
    this.renderTools();
    this.root.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && e.key === "s") {
        e.preventDefault();
        if (this.faq) this.faqSave?.();
        else this.save();
      }
    });
  }

  show([kind, id]) {
    const tab = kind === "f" || kind === "newf" ? "faqs" : kind === "a" || kind === "new" ? "articles" : this.tab;
    const switched = tab !== this.tab;
    this.tab = tab;
    this.renderTabs();
    if (!this.listed || switched) {
      this.listed = true;
      this.loadList();
    }
    this.faq = null;
    if (kind === "new" && this.canEdit) this.openArticle(null);
    else if (kind === "newf" && this.canEdit) this.openFaq(null);
    else if (kind === "a" && id) this.openArticle(+id);
    else if (kind === "f" && id) this.openFaq(+id);
    else this.showEmpty();
  }

  showEmpty() {
    this.article = null;
    const notice = this.notice ? h("p", { class: "rd-save-status", role: "status" }, this.notice) : null;
    this.notice = null;
    fill(this.editor, notice, h("div", { class: "rd-empty" }, t("console.kb.pick")), this.canEdit ? null : h("p", { class: "muted" }, t("console.kb.readonly")));
  }

  renderTabs() {
    if (this.newButton) this.newButton.textContent = t(this.tab === "faqs" ? "console.kb.new_faq" : "console.kb.new");
    fill(this.tabs, 
      ["articles", "faqs"].map((k) => h("button", { class: `rd-tab${this.tab === k ? " on" : ""}`, role: "tab", "aria-selected": String(this.tab === k), onclick: () => { this.tab = k; this.renderTabs(); this.loadList(); } }, t(`console.kb.${k}`))));
  }

  debouncedList() {
    clearTimeout(this.listTimer);
    this.listTimer = setTimeout(() => this.loadList(), 200);
  }

  async loadList() {
    if (!this.site) return;
    const q = new URLSearchParams({ site: this.site, limit: "200" });
    if (this.search.value.trim()) q.set("q", this.search.value.trim());
    const tab = this.tab;
    let page;
    try {
      page = await api("GET", `${KB}/${tab}?${q}`);
    } catch (err) {
      return fill(this.list, h("li", { class: "rd-error" }, err.message));
    }
    if (tab !== this.tab) return;
    clear(this.list);
    for (const item of page.items) {
      const href = `#/kb/${tab === "articles" ? "a" : "f"}/${item.id}`;
      const current = location.hash === href;
      this.list.append(h("li", { class: `rd-row${current ? " sel" : ""}`, dataset: { id: item.id }, onclick: () => (location.hash = href) },
        h("div", { class: "rd-row-top" }, h("span", { class: "rd-row-name" }, item.title), h("span", { class: `rd-status s-${item.status}` }, t(`console.kb.status.${item.status}`))),
        h("div", { class: "rd-row-meta" }, h("span", { class: "rd-row-locale", dataset: { locale: item.locale } }, languageName(item.locale)), h("span", {}, when(item.updated_at)))));
    }
    if (!page.items.length) this.list.append(h("li", { class: "rd-empty-row" }, "—"));
  }

  async openArticle(id) {
    let a = { id: null, title: "", body: "", status: "draft", version: 0 };
    if (id) {
      try {
        a = await api("GET", `${KB}/articles/${id}`);
      } catch (err) {
        return fill(this.editor, h("p", { class: "rd-error" }, err.message));
      }
    }
    this.article = a;
    const ro = !this.canEdit;
    this.title = h("input", { class: "rd-input rd-title", value: a.title, placeholder: t("console.kb.title"), "aria-label": t("console.kb.title"), readonly: ro });
    this.preview = h("div", { class: "rd-preview", "aria-label": t("console.kb.preview") });
    this.body = h("textarea", { class: "rd-input rd-body", placeholder: t("console.kb.body"), "aria-label": t("console.kb.body"), readonly: ro, oninput: () => this.renderPreview() });
    this.body.value = a.body;
    this.locale = languageField(a.locale, ro, [this.title, this.body]);
    this.statusLine = h("span", { class: "rd-save-status", role: "status" });
    this.versions = h("div", { class: "rd-versions" });
    this.diff = h("div", { class: "rd-diff" });
    const btn = (key, fn, primary) => h("button", { class: `rd-btn${primary ? " primary" : ""}`, dataset: { action: key }, onclick: fn }, t(`console.kb.${key}`));
    fill(this.editor, 
      h("div", { class: "rd-kb-bar" },
        a.id ? h("span", { class: `rd-status s-${a.status}` }, t(`console.kb.status.${a.status}`)) : null,
        a.id ? h("span", { class: "muted" }, `${t("console.kb.version")} ${a.version}`) : null,
        h("span", { class: "rd-grow" }), this.statusLine,
        ro ? null : btn("save", () => this.save(), true),
        ro || !a.id ? null : a.status === "published" ? btn("unpublish", () => this.setPublished(false)) : btn("publish", () => this.setPublished(true))),
      ro ? h("p", { class: "muted" }, t("console.kb.readonly")) : null,
      h("div", { class: "rd-row-flex rd-title-row" }, this.title, this.locale),
      h("div", { class: "rd-split" }, this.body, this.preview),
      a.id ? h("h3", {}, t("console.kb.versions")) : null, this.versions, this.diff);
    this.renderPreview();
    if (a.id) this.loadVersions();
  }

  renderPreview() {
    fill(this.preview, renderMarkdown(this.body.value));
  }

  async save() {
    if (!this.canEdit || !this.article) return;
    const data = { title: this.title.value.trim(), body: this.body.value, locale: this.locale.value };
    try {
      const saved = this.article.id
        ? await api("PATCH", `${KB}/articles/${this.article.id}`, data)
        : await api("POST", `${KB}/articles`, { ...data, site_id: +this.site });
      const wasNew = !this.article.id;
      this.loadList();
      if (wasNew) location.hash = `#/kb/a/${saved.id}`;
      else await this.openArticle(saved.id);
      this.statusLine.textContent = `✓ ${t("console.kb.saved")}`;
    } catch (err) {
      this.statusLine.textContent = `${t("console.kb.error")}: ${err.message}`;
    }
  }

  async setPublished(on) {
    try {
      await api("POST", `${KB}/articles/${this.article.id}/${on ? "publish" : "unpublish"}`);
      await this.openArticle(this.article.id);
      this.loadList();
    } catch (err) {
      this.statusLine.textContent = `${t("console.kb.error")}: ${err.message}`;
    }
  }

  async loadVersions() {
    const id = this.article.id;
    const versions = await api("GET", `${KB}/articles/${id}/versions`).catch(() => []);
    if (this.article?.id !== id) return;
    clear(this.versions);
    for (const v of [...versions].sort((x, y) => y.version - x.version)) {
      const current = v.version === this.article.version;
      this.versions.append(h("div", { class: "rd-version", dataset: { version: v.version } },
        h("strong", {}, `v${v.version}`), h("span", { class: "muted" }, ` ${when(v.created_at)} ${v.note || ""}`), h("span", { class: "rd-grow" }),
        h("button", { class: "rd-btn small", dataset: { action: "diff" }, onclick: () => this.showDiff(v) }, t("console.kb.diff")),
        this.canEdit && !current ? h("button", { class: "rd-btn small", dataset: { action: "restore" }, onclick: () => this.restore(v.version) }, t("console.kb.restore")) : null));
    }
  }

  showDiff(v) {
    const rows = lineDiff(v.body, this.body.value);
    fill(this.diff, h("div", { class: "muted" }, `v${v.version} → ${t("console.kb.body")}`),
      h("pre", { class: "rd-diff-lines" }, rows.map((r) => h("div", { class: r.op === "+" ? "add" : r.op === "-" ? "del" : "" }, `${r.op} ${r.line}`))));
  }

  async restore(version) {
    try {
      await api("POST", `${KB}/articles/${this.article.id}/versions/${version}/restore`);
      await this.openArticle(this.article.id);
      this.statusLine.textContent = `✓ ${t("console.kb.restored")} v${version}`;
      this.loadList();
    } catch (err) {
      this.statusLine.textContent = `${t("console.kb.error")}: ${err.message}`;
    }
  }

  async openFaq(id) {
    this.article = null;
    let f = { id: null, title: "", questions: [], answer: "", tags: [], locale: null, status: "draft" };
    if (id) {
      try {
        f = await api("GET", `${KB}/faqs/${id}`);
      } catch (err) {
        return fill(this.editor, h("p", { class: "rd-error" }, err.message));
      }
    }
    this.faq = f;
    const ro = !this.canEdit;
    const field = (label, control) => h("label", { class: "rd-field" }, h("span", { class: "rd-field-label" }, label), control);
    const title = h("input", { class: "rd-input rd-title", name: "title", value: f.title, placeholder: t("console.kb.title"), "aria-label": t("console.kb.title"), readonly: ro });
    const questions = h("textarea", { class: "rd-input rd-questions", name: "questions", rows: "5", placeholder: t("console.kb.questions_hint"), "aria-label": t("console.kb.questions"), readonly: ro });
    questions.value = f.questions.join("\n");
    const preview = h("div", { class: "rd-preview", "aria-label": t("console.kb.preview") });
    const answer = h("textarea", { class: "rd-input rd-body", name: "answer", placeholder: t("console.kb.answer"), "aria-label": t("console.kb.answer"), readonly: ro, oninput: () => fill(preview, renderMarkdown(answer.value)) });
    answer.value = f.answer;
    const tags = h("input", { class: "rd-input", name: "tags", value: f.tags.join(", "), "aria-label": t("console.kb.tags"), readonly: ro });
    const locale = languageField(f.locale, ro, [title, questions, answer]);
    const status = h("span", { class: "rd-save-status", role: "status" });
    const fail = (err) => (status.textContent = `${t("console.kb.error")}: ${err.message}`);
    const save = async () => {
      const data = {
        title: title.value.trim(),
        questions: questions.value.split("\n").map((q) => q.trim()).filter(Boolean),
        answer: answer.value.trim(),
        tags: tags.value.split(/[,，]/).map((x) => x.trim()).filter(Boolean),
        locale: locale.value,
      };
      try {
        const saved = f.id ? await api("PATCH", `${KB}/faqs/${f.id}`, data) : await api("POST", `${KB}/faqs`, { ...data, site_id: +this.site });
        this.loadList();
        if (!f.id) location.hash = `#/kb/f/${saved.id}`;
        else await this.openFaq(saved.id);
        this.faqStatus.textContent = `✓ ${t("console.kb.saved")}`;
      } catch (err) {
        fail(err);
      }
    };
    const toggle = async () => {
      try {
        await api("POST", `${KB}/faqs/${f.id}/${f.status === "published" ? "unpublish" : "publish"}`);
        await this.openFaq(f.id);
        this.loadList();
      } catch (err) {
        fail(err);
      }
    };
    const remove = async () => {
      if (!confirm(t("console.kb.delete_confirm"))) return;
      try {
        await api("DELETE", `${KB}/faqs/${f.id}`);
        this.loadList();
        this.notice = `✓ ${t("console.kb.deleted")}`;
        location.hash = "#/kb";
      } catch (err) {
        fail(err);
      }
    };
    this.faqSave = save;
    this.faqStatus = status;
    const btn = (key, fn, primary) => h("button", { class: `rd-btn${primary ? " primary" : ""}`, dataset: { action: key }, onclick: fn }, t(`console.kb.${key}`));
    fill(this.editor,
      h("div", { class: "rd-kb-bar" },
        f.id ? h("span", { class: `rd-status s-${f.status}` }, t(`console.kb.status.${f.status}`)) : null,
        f.external_id ? h("span", { class: "muted" }, f.external_id) : null,
        h("span", { class: "rd-grow" }), status,
        ro ? null : btn("save", save, true),
        ro || !f.id ? null : f.status === "published" ? btn("unpublish", toggle) : btn("publish", toggle),
        ro || !f.id ? null : btn("delete", remove)),
      ro ? h("p", { class: "muted" }, t("console.kb.readonly")) : null,
      title,
      field(t("console.kb.questions"), questions),
      h("div", { class: "rd-field-label" }, t("console.kb.answer")),
      h("div", { class: "rd-split" }, answer, preview),
      h("div", { class: "rd-row-flex rd-faq-meta" }, field(t("console.kb.tags"), tags), field(t("console.kb.locale"), locale)));
    fill(preview, renderMarkdown(answer.value));
  }

  renderTools() {
    const question = h("input", { type: "search", class: "rd-input", placeholder: t("console.kb.test"), "aria-label": t("console.kb.test"), onkeydown: (e) => e.key === "Enter" && ask() });
    const hits = h("div", { class: "rd-hits", "aria-live": "polite" });
    const ask = async () => {
      const q = question.value.trim();
      if (!q || !this.site) return;
      // Marks which question the shown hits answer, so a reader can tell stale ones.
      delete hits.dataset.query;
      let res;
      try {
        res = await api("GET", `${KB}/search?${new URLSearchParams({ q, site: this.site, k: "5" })}`);
      } catch (err) {
        return fill(hits, h("p", { class: "rd-error" }, err.message));
      }
      clear(hits);
      if (res.lexical_only) hits.append(h("p", { class: "muted" }, t("console.kb.lexical")));
      if (!res.hits.length) hits.append(h("p", { class: "muted" }, t("console.kb.no_hits")));
      for (const hit of res.hits) {
        hits.append(h("div", { class: "rd-hit" },
          h("div", { class: "rd-hit-title" }, hit.title),
          h("div", { class: "rd-hit-scores" }, `${t("console.kb.score")} ${hit.score.toFixed(3)} · ${t("console.kb.confidence")} ${Math.round(hit.confidence * 100)}%`,
            h("span", { class: "rd-conf" }, h("span", { style: `width:${Math.round(hit.confidence * 100)}%` }))),
          h("div", { class: "rd-hit-snippet" }, hit.snippet)));
      }
      hits.append(h("div", { class: "muted" }, `${res.took_ms.toFixed(0)} ms`));
      hits.dataset.query = q;
    };
    const testPanel = h("section", { class: "rd-panel rd-test" }, h("h3", {}, t("console.kb.test")),
      h("div", { class: "rd-row-flex" }, question, h("button", { class: "rd-btn", onclick: ask }, t("console.kb.ask"))), hits);
    let importPanel = null;
    if (this.canEdit) {
      const files = h("input", { type: "file", multiple: true, class: "rd-file", "aria-label": t("console.kb.import"), accept: ".md,.markdown,.txt,.html,.htm,.pdf,.docx,.jsonl,.csv" });
      const bar = h("progress", { max: "100", value: "0", class: "rd-progress", hidden: true });
      const result = h("div", { class: "rd-import-result", role: "status" });
      const go = async () => {
        if (!files.files.length || !this.site) return;
        const form = new FormData();
        form.append("site", this.site);
        for (const f of files.files) form.append("files", f, f.name);
        bar.hidden = false;
        bar.value = 0;
        result.textContent = "";
        try {
          const s = await upload(`${KB}/import`, form, (p) => (bar.value = Math.round(p * 100)));
          bar.value = 100;
          result.textContent = `✓ ${t("console.kb.imported")}: ${s.files} · +${s.articles_created} / ~${s.articles_updated} / =${s.articles_unchanged} · FAQ +${s.faq_created} / ~${s.faq_updated}`;
          this.loadList();
        } catch (err) {
          result.textContent = `${t("console.kb.error")}: ${err.message}`;
        }
      };
      importPanel = h("section", { class: "rd-panel rd-import" }, h("h3", {}, t("console.kb.import")), files,
        h("button", { class: "rd-btn", dataset: { action: "upload" }, onclick: go }, t("console.kb.import_go")), bar, result);
    }
    fill(this.tools, testPanel, importPanel);
  }
}
