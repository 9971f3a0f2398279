// The side panel beside the grid: Chat, People and Files, one at a time, opened and closed from
// the toolbar (or its own tabs). On a phone it covers the grid.
//
// Stable hooks: [data-panel="chat|people|files"] (toolbar toggles; aria-pressed), [data-side-panel]
// (hidden when closed; data-tab says which pane shows), its tabs [data-panel-tab="..."],
// [data-pane="chat|people|files"].

/** @typedef {'chat' | 'people' | 'files'} PaneName */

export class SidePanel {
  /**
   * @param {object} options
   * @param {HTMLElement} options.root the panel
   * @param {HTMLElement} options.call the call screen (gets `panel-open`, so the grid makes room)
   * @param {(pane: PaneName | null) => void} options.onShow the pane now on screen, or none
   */
  constructor(options) {
    this.options = options;
    /** @type {PaneName | null} */
    this.showing = null;
    for (const button of document.querySelectorAll('[data-panel], [data-panel-tab]')) {
      if (!(button instanceof HTMLButtonElement)) continue;
      const pane = /** @type {PaneName} */ (button.dataset.panel ?? button.dataset.panelTab);
      // A tab only switches; the toolbar toggles open and closed.
      button.addEventListener('click', () => (button.dataset.panel ? this.toggle(pane) : this.show(pane)));
    }
    options.root.querySelector('[data-panel-close]')?.addEventListener('click', () => this.show(null));
  }

  /** @param {PaneName} pane shows it, or closes the panel if it is the one showing */
  toggle(pane) {
    this.show(this.showing === pane ? null : pane);
  }

  /** @param {PaneName | null} pane */
  show(pane) {
    this.showing = pane;
    const { root, call } = this.options;
    root.hidden = pane === null;
    if (pane) root.dataset.tab = pane;
    call.classList.toggle('panel-open', pane !== null);
    for (const section of root.querySelectorAll('[data-pane]')) {
      if (section instanceof HTMLElement) section.hidden = section.dataset.pane !== pane;
    }
    for (const button of document.querySelectorAll('[data-panel], [data-panel-tab]')) {
      if (!(button instanceof HTMLElement)) continue;
      button.setAttribute('aria-pressed', String((button.dataset.panel ?? button.dataset.panelTab) === pane));
    }
    this.options.onShow(pane);
  }

  /** @param {PaneName} pane */
  isShowing(pane) {
    return this.showing === pane;
  }
}
