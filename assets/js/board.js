// The whiteboard's content and how it is painted, without any page markup: a list of items in
// drawing order (as the server keeps it) painted onto any 2D context of any size. Points are board
// coordinates, 0..1 on both axes of a 16:9 board; widths are board units, a pixel of a board
// 1000 px wide, so a drawing looks the same at every canvas size.

/** @import { WhiteboardItem, BoardPoint } from './protocol.js' */

/** The board's shape: a canvas shows it letterboxed at this ratio. */
export const BOARD_ASPECT = 16 / 9;
/** Board units per board width. */
const UNITS_PER_WIDTH = 1000;

/**
 * A board point rounded to what the wire carries (4 decimals are well under a pixel).
 * @param {number} x 0..1
 * @param {number} y 0..1
 * @returns {BoardPoint}
 */
export function boardPoint(x, y) {
  const round = (/** @type {number} */ v) => Math.round(Math.min(1, Math.max(0, v)) * 10_000) / 10_000;
  return [round(x), round(y)];
}

/** Font size of a text item, in board units, from its width. */
const textSize = (/** @type {number} */ width) => 8 + width * 4;

export class Board {
  constructor() {
    /** @type {Map<string, WhiteboardItem>} in drawing order */
    this.items = new Map();
  }

  /** @param {WhiteboardItem[]} items the whole board (`whiteboard_state`) */
  replace(items) {
    this.items = new Map(items.map((item) => [item.id, item]));
  }

  /** @param {WhiteboardItem} item */
  add(item) {
    this.items.set(item.id, { ...item, points: [...item.points] });
  }

  /**
   * More points of a pen or eraser stroke that is being drawn.
   * @param {string} id
   * @param {BoardPoint[]} points
   */
  extend(id, points) {
    this.items.get(id)?.points.push(...points);
  }

  /** @param {string} id */
  remove(id) {
    this.items.delete(id);
  }

  clear() {
    this.items.clear();
  }

  /**
   * Paints the whole board onto `ctx` (transparent where nothing is drawn, so the eraser only
   * takes strokes away and the page's background shows through).
   * @param {CanvasRenderingContext2D} ctx
   * @param {number} width in pixels
   * @param {number} height in pixels
   */
  paint(ctx, width, height) {
    ctx.clearRect(0, 0, width, height);
    for (const item of this.items.values()) paintItem(ctx, item, width, height);
  }
}

/**
 * @param {CanvasRenderingContext2D} ctx
 * @param {WhiteboardItem} item
 * @param {number} width
 * @param {number} height
 */
export function paintItem(ctx, item, width, height) {
  const scale = width / UNITS_PER_WIDTH;
  const points = item.points.map(([x, y]) => [x * width, y * height]);
  if (points.length === 0) return;
  ctx.save();
  ctx.globalCompositeOperation = item.kind === 'eraser' ? 'destination-out' : 'source-over';
  ctx.strokeStyle = item.color;
  ctx.fillStyle = item.color;
  ctx.lineWidth = Math.max(1, item.width * scale);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  const [[x0, y0], [x1, y1] = [x0, y0]] = points;
  ctx.beginPath();
  switch (item.kind) {
    case 'pen':
    case 'eraser':
      tracePath(ctx, points);
      break;
    case 'line':
      ctx.moveTo(x0, y0);
      ctx.lineTo(x1, y1);
      break;
    case 'rect':
      ctx.rect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
      break;
    case 'ellipse':
      ctx.ellipse((x0 + x1) / 2, (y0 + y1) / 2, Math.abs(x1 - x0) / 2, Math.abs(y1 - y0) / 2, 0, 0, 2 * Math.PI);
      break;
    case 'text':
      ctx.font = `${textSize(item.width) * scale}px system-ui, sans-serif`;
      ctx.textBaseline = 'top';
      ctx.fillText(item.text ?? '', x0, y0);
      break;
  }
  if (item.kind !== 'text') ctx.stroke();
  ctx.restore();
}

/**
 * A freehand path through `points`, smoothed with quadratic curves through the midpoints so that
 * the ~60 Hz samples of a pointer do not show as corners. A single point is a dot.
 * @param {CanvasRenderingContext2D} ctx
 * @param {number[][]} points
 */
function tracePath(ctx, points) {
  const [first] = points;
  ctx.moveTo(first[0], first[1]);
  if (points.length === 1) {
    ctx.lineTo(first[0] + 0.01, first[1]);
    return;
  }
  for (let i = 1; i < points.length - 1; i += 1) {
    const [x, y] = points[i];
    const [nx, ny] = points[i + 1];
    ctx.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
  }
  const [lx, ly] = points[points.length - 1];
  ctx.lineTo(lx, ly);
}
