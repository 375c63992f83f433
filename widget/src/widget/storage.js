// localStorage when the browser allows it (shared by tabs, kept across visits), else
// sessionStorage, else memory: blocked storage must never break the widget.
function usable(get) {
  try {
    const s = get();
    s.setItem("relaydesk:probe", "1");
    s.removeItem("relaydesk:probe");
    return s;
  } catch {
    return null;
  }
}

export function openStorage(prefix) {
  const memory = new Map();
  const s = usable(() => localStorage) || usable(() => sessionStorage);
  const get = (k) => (s ? s.getItem(prefix + k) : memory.get(k) ?? null);
  const set = (k, v) => {
    try {
      if (v === null || v === undefined) s ? s.removeItem(prefix + k) : memory.delete(k);
      else s ? s.setItem(prefix + k, v) : memory.set(k, v);
    } catch {
      memory.set(k, v);
    }
  };
  return {
    get,
    set,
    json(k, fallback) {
      try {
        return JSON.parse(get(k)) ?? fallback;
      } catch {
        return fallback;
      }
    },
    setJson: (k, v) => set(k, JSON.stringify(v)),
    shared: s === globalThis.localStorage,
  };
}
