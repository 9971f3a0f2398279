// The Files pane: a "share a file" button and one card per transfer, with its name, size, a
// progress bar, a cancel button while it runs and a download link once a received file is whole.
// The transport is files.js; this only draws its `Transfer`s.
//
// Stable hooks: [data-action="share-file"], [data-file-input]; each transfer
// [data-transfer="<uuid>"][data-direction="in|out"][data-state="active|done|cancelled|failed"]
// with [data-file-progress] (a <progress>), [data-transfer-cancel] and, when received,
// [data-file-download] (an <a download>).

/** @import { Transfer, FileShare } from './files.js' */

/**
 * @param {number} bytes
 */
export function formatSize(bytes) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const STATE_TEXT = { active: '', done: 'Done', cancelled: 'Cancelled', failed: 'Failed: part of the file did not arrive' };

export class TransferList {
  /**
   * @param {object} options
   * @param {HTMLUListElement} options.list
   * @param {HTMLInputElement} options.input the (hidden) file picker
   * @param {HTMLButtonElement} options.share
   * @param {FileShare} options.files
   * @param {(id: string) => string} options.nameOf a participant's display name
   * @param {() => void} options.onIncoming a new file is on its way to us
   */
  constructor(options) {
    this.options = options;
    /** @type {Map<string, { card: HTMLLIElement, bar: HTMLProgressElement, status: HTMLElement }>} */
    this.cards = new Map();
    options.share.addEventListener('click', () => options.input.click());
    options.input.addEventListener('change', () => {
      for (const file of options.input.files ?? []) options.files.send(file);
      options.input.value = '';
    });
  }

  /** @param {Transfer} transfer */
  update(transfer) {
    let drawn = this.cards.get(transfer.id);
    if (!drawn) {
      drawn = this.render(transfer);
      this.cards.set(transfer.id, drawn);
      this.options.list.prepend(drawn.card);
      if (transfer.direction === 'in') this.options.onIncoming();
    }
    const { card, bar, status } = drawn;
    bar.value = transfer.bytes;
    card.dataset.state = transfer.state;
    const percent = transfer.size ? Math.floor((transfer.bytes / transfer.size) * 100) : 100;
    status.textContent = STATE_TEXT[transfer.state] || `${percent}%`;
    if (transfer.state !== 'active') card.querySelector('[data-transfer-cancel]')?.remove();
    if (transfer.blob && !card.querySelector('[data-file-download]')) card.append(this.downloadLink(transfer, transfer.blob));
  }

  /**
   * @private
   * @param {Transfer} transfer
   */
  render(transfer) {
    const card = document.createElement('li');
    card.className = 'transfer';
    card.dataset.transfer = transfer.id;
    card.dataset.direction = transfer.direction;
    const name = document.createElement('div');
    name.className = 'file-name';
    name.textContent = transfer.name;
    name.title = transfer.name;
    const meta = document.createElement('div');
    meta.className = 'meta';
    const who = transfer.direction === 'out' ? 'You share' : `From ${this.options.nameOf(transfer.from)}`;
    meta.textContent = `${who} · ${formatSize(transfer.size)} · `;
    const status = document.createElement('span');
    meta.append(status);
    const bar = document.createElement('progress');
    bar.max = Math.max(transfer.size, 1);
    bar.dataset.fileProgress = '';
    const cancel = document.createElement('button');
    cancel.type = 'button';
    cancel.className = 'ghost small';
    cancel.dataset.transferCancel = '';
    cancel.textContent = 'Cancel';
    cancel.addEventListener('click', () => this.options.files.cancel(transfer.id));
    card.append(name, meta, bar, cancel);
    return { card, bar, status };
  }

  /**
   * @private
   * @param {Transfer} transfer
   * @param {Blob} blob
   */
  downloadLink(transfer, blob) {
    const link = document.createElement('a');
    link.className = 'button small';
    link.href = URL.createObjectURL(blob);
    // A download, never a page: the blob's type is octet-stream whatever the sender said.
    link.download = transfer.name;
    link.rel = 'noopener';
    link.dataset.fileDownload = '';
    link.textContent = 'Download';
    return link;
  }
}
