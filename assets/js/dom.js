// Typed lookups for the page's fixed markup: a missing element is a bug in the HTML, said loudly.

/**
 * The one element matching `selector`, checked to be a `type`.
 * @template {Element} T
 * @param {string} selector
 * @param {new (...args: any[]) => T} type
 * @returns {T}
 */
export function element(selector, type) {
  const found = document.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`page markup: no ${type.name} at ${selector}`);
  return found;
}

/**
 * Every element matching `selector` that is a `type`.
 * @template {Element} T
 * @param {string} selector
 * @param {new (...args: any[]) => T} type
 * @returns {T[]}
 */
export function all(selector, type) {
  return [...document.querySelectorAll(selector)].filter(/** @returns {found is T} */ (found) => found instanceof type);
}

/**
 * @param {HTMLElement} target
 * @param {boolean} visible
 */
export function show(target, visible) {
  target.hidden = !visible;
}
