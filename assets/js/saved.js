// What the room page remembers between visits (name, devices, mic and camera on or off, identity),
// in localStorage under `huddle.<key>`; a browser that refuses storage just forgets.

export const saved = {
  /** @param {string} key */
  get: (key) => { try { return localStorage.getItem(`huddle.${key}`) ?? ''; } catch { return ''; } },
  /** @param {string} key @param {string} value */
  set: (key, value) => { try { localStorage.setItem(`huddle.${key}`, value); } catch { /* private mode */ } },
};
