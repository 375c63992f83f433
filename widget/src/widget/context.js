// What the loader hands over and what follows from it, fixed for the page's lifetime: the
// options, the site's settings, the locale and its strings, storage, the API root.
import { pickLocale, translator } from "./i18n.js";
import { openStorage } from "./storage.js";

export const api = window.Relaydesk;
export const ctx = api._c;
export const { cfg, root, launcher } = ctx;
// The site's settings from `/widget/config` (the loader merged its `options` into cfg).
export const site = ctx.site || {};
export const locale = pickLocale(cfg.locale, site.default_locale);
export const t = translator(locale);
export const store = openStorage(`relaydesk:${cfg.siteKey}:`);
export const apiRoot = (() => {
  const u = new URL(ctx.base);
  return u.origin + u.pathname.replace(/widget\/$/, "");
})();
export const token = () => store.get("token");
export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,250}\.[^\s@]{2,}$/;

/** Calls the page's `Relaydesk.on(name, fn)` handlers; one that throws cannot stop the rest. */
export function emitEvent(name, data) {
  for (const fn of ctx.handlers[name] || []) {
    try {
      fn(data);
    } catch (e) {
      console.error(e);
    }
  }
}
