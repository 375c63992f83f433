// The loader: the only script a host page includes. It must stay tiny (≤ 2 KB gzipped):
// it reads and validates the options, fetches the site's settings (`/widget/config`),
// draws the launcher inside a Shadow DOM, exposes a queueing `window.Relaydesk` API, and
// fetches the full bundle on first open or when the browser is idle. `__BUNDLE__` (the
// hashed bundle file name) is baked in at build time.
(() => {
  const w = window;
  const d = document;
  const prev = w.Relaydesk;
  if (prev && prev._c) return; // included twice
  const warn = (m) => console.warn("Relaydesk: " + m);
  const script = d.currentScript || d.querySelector("script[data-site-key]");
  if (!script || !script.src) return warn("cannot find the loader's <script> tag");
  const base = new URL(".", script.src).href;
  const isBool = (v) => typeof v === "boolean";
  const isStr = (n) => (v) => typeof v === "string" && v.trim().length > 0 && v.length <= n;
  const rules = {
    siteKey: (v) => /^[\w.:-]{1,64}$/.test(v),
    position: (v) => v === "left" || v === "right",
    color: (v) => /^#([\da-f]{3}){1,2}$/i.test(v),
    launcherText: isStr(40),
    greeting: isStr(300),
    locale: (v) => v === "en" || v === "zh",
    prechat: isBool,
    hideLauncher: isBool,
    sound: isBool,
  };
  const user = prev && typeof prev === "object" ? prev : {};
  const cfg = {};
  for (const k in user) if (!(k in rules)) warn(`unknown option "${k}"`);
  for (const k in rules) {
    let v = k in user ? user[k] : script.dataset[k];
    if (v === undefined) continue;
    if (typeof v === "string" && rules[k] === isBool) v = v === "" || v === "true" || (v === "false" ? false : v);
    if (rules[k](v)) cfg[k] = v;
    else warn(`ignoring invalid option ${k}=${JSON.stringify(v)}`);
  }
  if (!cfg.siteKey) return warn("data-site-key is missing or invalid");
  // The page's options win over the site's (set by its admins), which win over the
  // defaults. The launcher waits for the site's answer (at most 3 s) rather than flash
  // the default colour; it is small and cached for a minute.
  const site = {};
  const ready = Promise.race([
    fetch(base + "config?site_key=" + encodeURIComponent(cfg.siteKey))
      .then((r) => r.ok && r.json())
      .then((s) => Object.assign(site, s)),
    new Promise((r) => setTimeout(r, 3e3)),
  ])
    .catch(() => {})
    .then(() => {
      const o = site.options || {};
      for (const k in o) if (!(k in cfg) && rules[k]?.(o[k])) cfg[k] = o[k];
      cfg.position = cfg.position || "right";
      cfg.color = cfg.color || "#3b5bdb";
      // The page's styles reach a shadow host; `!important` in :host beats them, so a
      // hostile page (`* { all: unset }`, huge fonts, z-index wars) cannot move or hide it.
      css.textContent = `:host{all:initial!important;display:block!important;position:fixed!important;z-index:2147483647!important;top:auto!important;left:auto!important;width:0!important;height:0!important}
.launcher{position:fixed;bottom:20px;${cfg.position}:20px;display:flex;align-items:center;gap:8px;height:56px;min-width:56px;padding:0 16px;box-sizing:border-box;border:0;border-radius:28px;background:${cfg.color};color:#fff;font:600 15px/1 system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;cursor:pointer;box-shadow:0 6px 24px rgba(20,24,40,.24);transition:transform .2s}
.launcher:hover{transform:translateY(-2px)}.launcher:focus-visible{outline:3px solid #9ab;outline-offset:3px}.launcher svg{width:26px;height:26px;flex:none;margin:0 -3px}
.launcher[hidden]{display:none}.launcher i{position:absolute;top:-4px;${cfg.position === "left" ? "left" : "right"}:-4px;min-width:20px;height:20px;border-radius:10px;background:#e03131;color:#fff;font:700 12px/20px system-ui,sans-serif;text-align:center;font-style:normal;padding:0 5px;box-sizing:border-box}
.launcher i:empty{display:none}@media (prefers-reduced-motion:reduce){.launcher{transition:none}}`;
      launcher.hidden = !!cfg.hideLauncher;
      if (cfg.launcherText) launcher.insertBefore(d.createTextNode(cfg.launcherText), launcher.lastChild);
      launcher.setAttribute("aria-label", cfg.launcherText || "Chat");
    });

  const host = d.createElement("relaydesk-widget");
  const root = host.attachShadow({ mode: "open" });
  const css = d.createElement("style");
  const launcher = d.createElement("button");
  launcher.className = "launcher";
  launcher.type = "button";
  launcher.innerHTML =
    '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.6A8 8 0 1 1 21 12z"/></svg><i></i>';
  launcher.setAttribute("aria-expanded", "false");
  root.append(css, launcher);

  let loading;
  const load = () =>
    loading ||
    (loading = ready.then(() => {
      const s = d.createElement("script");
      s.src = base + __BUNDLE__;
      s.async = true;
      s.onerror = () => warn("could not load the chat");
      d.head.append(s);
    }));
  const q = [];
  const handlers = {};
  const later = (name, eager) => (...args) => {
    q.push([name, args]);
    if (eager) load();
  };
  const api = (w.Relaydesk = {
    open: later("open", 1),
    close: later("close"),
    identify: later("identify"),
    on: (event, fn) => {
      if (typeof fn === "function") (handlers[event] = handlers[event] || []).push(fn);
    },
    _c: { cfg, site, base, host, root, launcher, q, handlers },
  });
  launcher.onclick = api.open;
  launcher.onpointerenter = launcher.onfocus = load;
  const idle = w.requestIdleCallback || ((f) => setTimeout(f, 1500));
  const start = () => {
    (d.body || d.documentElement).append(host);
    idle(load, { timeout: 5000 });
  };
  ready.then(() => (d.body ? start() : d.addEventListener("DOMContentLoaded", start)));
})();
