// The whiteboard view: tools, pointer input and the canvas. Our strokes reach the others live: a
// pen or eraser stroke is announced with its first point (`whiteboard_add`) and its next points
// follow in batches (`whiteboard_extend`, every EXTEND_EVERY_MS); a shape is sent when released.
// The canvas is repainted from the `Board` once per frame when something changed, and on resize.
//
// Stable hooks: canvas [data-whiteboard] (its `data-items` is the number of items on the board),
// [data-tool="pen|eraser|line|rect|ellipse|text"], [data-board-action="undo|clear|export"],
// [data-board-error] (e.g. the board is full).

/** @import { RoomAction, WhiteboardItem, ShapeKind, BoardPoint } from './protocol.js' */

import { Board, boardPoint } from './board.js';

/** Live stroke points are batched this long before they are sent. */
const EXTEND_EVERY_MS = 50;
/** The exported PNG's size. */
const EXPORT_WIDTH = 1920;
const EXPORT_HEIGHT = 1080;

export class Whiteboard {
  /**
   * @param {object} options
   * @param {HTMLElement} options.root the view, holding the toolbar and the canvas
   * @param {HTMLCanvasElement} options.canvas
   * @param {HTMLDialogElement} options.confirmClear
   * @param {(action: RoomAction) => void} options.act
   */
  constructor(options) {
    this.options = options;
    this.board = new Board();
    const ctx = options.canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas');
    this.ctx = ctx;
    /** @type {ShapeKind} */
    this.tool = 'pen';
    this.color = '#1f2330';
    this.width = 4;
    /** @type {WhiteboardItem | null} the item under the pointer */
    this.drawing = null;
    /** @type {BoardPoint[]} points of `drawing` not sent yet */
    this.unsent = [];
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.extendTimer = undefined;
    this.repaintQueued = false;
    this.wireToolbar();
    this.wirePointer();
    new ResizeObserver(() => this.resize()).observe(options.canvas);
  }

  // ---- What the server says ----

  /** @param {WhiteboardItem[]} items */
  replace(items) {
    this.board.replace(items);
    this.repaint();
  }

  /** @param {WhiteboardItem} item someone else's */
  add(item) {
    this.board.add(item);
    this.repaint();
  }

  /** @param {string} id @param {BoardPoint[]} points */
  extend(id, points) {
    this.board.extend(id, points);
    this.repaint();
  }

  /** @param {string} id */
  remove(id) {
    this.board.remove(id);
    this.repaint();
  }

  clear() {
    this.board.clear();
    this.repaint();
  }

  /**
   * The server refused our latest item (the board is full, or the item was invalid): take it off
   * our own board too and say why.
   * @param {string} text
   */
  refused(text) {
    const mine = [...this.board.items.values()].filter((item) => item.mine);
    const last = mine[mine.length - 1];
    if (last) this.board.remove(last.id);
    this.finishStroke();
    this.showError(text);
    this.repaint();
  }

  /** @param {string} text empty hides the message */
  showError(text) {
    const error = this.options.root.querySelector('[data-board-error]');
    if (!(error instanceof HTMLElement)) return;
    error.textContent = text;
    error.hidden = !text;
  }

  // ---- Drawing ----

  /** @private */
  wirePointer() {
    const { canvas } = this.options;
    canvas.addEventListener('pointerdown', (event) => {
      if (event.button !== 0) return;
      const point = this.pointAt(event);
      if (this.tool === 'text') {
        this.placeText(point);
        return;
      }
      canvas.setPointerCapture(event.pointerId);
      this.start(point);
    });
    canvas.addEventListener('pointermove', (event) => {
      if (!this.drawing) return;
      // Coalesced events keep fast strokes smooth where the browser merged pointer samples.
      const samples = event.getCoalescedEvents?.() ?? [event];
      for (const sample of samples.length ? samples : [event]) this.move(this.pointAt(sample));
    });
    for (const type of ['pointerup', 'pointercancel']) {
      canvas.addEventListener(type, () => this.end());
    }
  }

  /**
   * @private
   * @param {BoardPoint} point
   */
  start(point) {
    this.showError('');
    /** @type {WhiteboardItem} */
    const item = { id: crypto.randomUUID(), kind: this.tool, color: this.color, width: this.width, points: [point] };
    this.drawing = item;
    this.board.add({ ...item, mine: true });
    if (isFreehand(item.kind)) {
      this.options.act({ type: 'whiteboard_add', item });
      this.extendTimer = setInterval(() => this.flushPoints(), EXTEND_EVERY_MS);
    }
    this.repaint();
  }

  /**
   * @private
   * @param {BoardPoint} point
   */
  move(point) {
    const drawing = this.drawing;
    if (!drawing) return;
    const shown = this.board.items.get(drawing.id);
    if (!shown) return;
    if (isFreehand(drawing.kind)) {
      shown.points.push(point);
      this.unsent.push(point);
    } else {
      shown.points = [shown.points[0], point];
    }
    this.repaint();
  }

  /** @private */
  end() {
    const drawing = this.drawing;
    if (!drawing) return;
    const shown = this.board.items.get(drawing.id);
    if (isFreehand(drawing.kind)) {
      this.flushPoints();
    } else if (shown && shown.points.length === 2) {
      this.options.act({ type: 'whiteboard_add', item: { ...drawing, points: shown.points } });
    } else {
      // A click without a drag draws no shape.
      this.board.remove(drawing.id);
      this.repaint();
    }
    this.finishStroke();
  }

  /** @private */
  finishStroke() {
    clearInterval(this.extendTimer);
    this.drawing = null;
    this.unsent = [];
  }

  /** @private */
  flushPoints() {
    if (!this.drawing || this.unsent.length === 0) return;
    this.options.act({ type: 'whiteboard_extend', id: this.drawing.id, points: this.unsent });
    this.unsent = [];
  }

  /**
   * A small field where the text is typed; Enter puts it on the board, Escape drops it.
   * @private
   * @param {BoardPoint} point
   */
  placeText(point) {
    const field = document.createElement('input');
    field.className = 'board-text';
    field.maxLength = 500;
    field.placeholder = 'Type, then Enter';
    field.style.left = `${point[0] * 100}%`;
    field.style.top = `${point[1] * 100}%`;
    field.style.color = this.color;
    this.options.canvas.parentElement?.append(field);
    field.focus();
    const done = (/** @type {boolean} */ keep) => {
      const text = field.value.trim();
      field.remove();
      if (!keep || !text) return;
      /** @type {WhiteboardItem} */
      const item = { id: crypto.randomUUID(), kind: 'text', color: this.color, width: this.width, points: [point], text };
      this.board.add({ ...item, mine: true });
      this.options.act({ type: 'whiteboard_add', item });
      this.repaint();
    };
    field.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') done(true);
      if (event.key === 'Escape') done(false);
    });
    field.addEventListener('blur', () => done(true), { once: true });
  }

  /**
   * @private
   * @param {PointerEvent} event
   */
  pointAt(event) {
    const rect = this.options.canvas.getBoundingClientRect();
    return boardPoint((event.clientX - rect.left) / rect.width, (event.clientY - rect.top) / rect.height);
  }

  // ---- Toolbar ----

  /** @private */
  wireToolbar() {
    const { root, act, confirmClear } = this.options;
    for (const button of root.querySelectorAll('[data-tool]')) {
      if (!(button instanceof HTMLButtonElement)) continue;
      button.addEventListener('click', () => {
        this.tool = /** @type {ShapeKind} */ (button.dataset.tool);
        for (const other of root.querySelectorAll('[data-tool]')) other.setAttribute('aria-pressed', String(other === button));
      });
    }
    for (const swatch of root.querySelectorAll('[data-color]')) {
      if (!(swatch instanceof HTMLButtonElement)) continue;
      swatch.style.setProperty('--swatch', swatch.dataset.color ?? '');
      swatch.addEventListener('click', () => {
        this.color = swatch.dataset.color ?? this.color;
        for (const other of root.querySelectorAll('[data-color]')) other.setAttribute('aria-pressed', String(other === swatch));
      });
    }
    const width = root.querySelector('[data-width]');
    if (width instanceof HTMLSelectElement) width.addEventListener('change', () => (this.width = Number(width.value)));
    /** @type {Record<string, () => void>} */
    const actions = {
      undo: () => act({ type: 'whiteboard_undo' }),
      clear: () => confirmClear.showModal(),
      export: () => this.exportPng(),
    };
    for (const button of root.querySelectorAll('[data-board-action]')) {
      const run = actions[button instanceof HTMLElement ? button.dataset.boardAction ?? '' : ''];
      if (run) button.addEventListener('click', run);
    }
    confirmClear.addEventListener('close', () => {
      if (confirmClear.returnValue === 'clear') act({ type: 'whiteboard_clear' });
    });
  }

  /** Downloads the board as a PNG on white, whatever the canvas size. */
  exportPng() {
    const strokes = document.createElement('canvas');
    strokes.width = EXPORT_WIDTH;
    strokes.height = EXPORT_HEIGHT;
    const strokesCtx = strokes.getContext('2d');
    const out = document.createElement('canvas');
    out.width = EXPORT_WIDTH;
    out.height = EXPORT_HEIGHT;
    const outCtx = out.getContext('2d');
    if (!strokesCtx || !outCtx) return;
    // The eraser cuts through the strokes' layer only, never the white beneath.
    this.board.paint(strokesCtx, EXPORT_WIDTH, EXPORT_HEIGHT);
    outCtx.fillStyle = '#ffffff';
    outCtx.fillRect(0, 0, EXPORT_WIDTH, EXPORT_HEIGHT);
    outCtx.drawImage(strokes, 0, 0);
    const link = document.createElement('a');
    link.href = out.toDataURL('image/png');
    link.download = `whiteboard-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.png`;
    link.click();
  }

  // ---- Painting ----

  /** @private */
  resize() {
    const { canvas } = this.options;
    const scale = window.devicePixelRatio || 1;
    const width = Math.round(canvas.clientWidth * scale);
    const height = Math.round(canvas.clientHeight * scale);
    if (width === canvas.width && height === canvas.height) return;
    canvas.width = width;
    canvas.height = height;
    this.paintNow();
  }

  /** Repaints before the next frame, once however many changes came in meanwhile. */
  repaint() {
    if (this.repaintQueued) return;
    this.repaintQueued = true;
    requestAnimationFrame(() => this.paintNow());
  }

  /** @private */
  paintNow() {
    this.repaintQueued = false;
    const { canvas } = this.options;
    this.board.paint(this.ctx, canvas.width, canvas.height);
    canvas.dataset.items = String(this.board.items.size);
  }
}

/** @param {ShapeKind} kind */
function isFreehand(kind) {
  return kind === 'pen' || kind === 'eraser';
}
