// The DOM of files in the chat, for view.js: the Attach button, drag-and-drop onto the window, pasted
// images, uploads with progress and Cancel, attachments in messages (thumbnails opened larger on
// click, other files with Save) and the image viewer. File names are network text: set as text only.

import { formatSize, isImage, pastedName, showsFull } from './files.js';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

function button(className, text) {
  const node = el('button', className, text);
  node.type = 'button';
  return node;
}

/** Files of a drop or paste; pasted images come without a name and get one. */
function filesOf(list) {
  return [...(list ?? [])].map((file) => (file.name ? file : new File([file], pastedName(file.type), { type: file.type })));
}

export class FilesView {
  #e; // { attachButton, attachInput, uploads, dropZone, imageView, imageViewImg, imageViewName, imageViewClose, chatScreen }
  #sources = { image: async () => null, href: () => null, onSave: () => {} };
  #loaded = new Map(); // `${id} ${which}` → image source (data: URL or link), so a redrawn line does not fetch again
  #uploadActions = { onCancel: () => {}, onDismiss: () => {} };

  constructor(elements) {
    this.#e = elements;
    const e = elements;
    e.attachButton.addEventListener('click', () => e.attachInput.click());
    e.imageViewClose.addEventListener('click', () => e.imageView.close());
    e.imageView.addEventListener('click', (event) => event.target === e.imageView && e.imageView.close());
    e.uploads.addEventListener('click', (event) => {
      const key = Number(event.target.closest('[data-upload]')?.dataset.upload);
      if (event.target.matches('.cancel')) this.#uploadActions.onCancel(key);
      if (event.target.matches('.dismiss')) this.#uploadActions.onDismiss(key);
    });
  }

  /** `handler(files)` for files chosen with Attach, dropped on the chat, or pasted into it. */
  bindAttach(handler) {
    const e = this.#e;
    e.attachInput.addEventListener('change', () => {
      const files = filesOf(e.attachInput.files);
      e.attachInput.value = '';
      if (files.length) handler(files);
    });
    const dragging = (event) => !e.attachButton.hidden && [...(event.dataTransfer?.types ?? [])].includes('Files');
    e.chatScreen.addEventListener('dragover', (event) => {
      if (!dragging(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
      e.dropZone.hidden = false;
    });
    e.chatScreen.addEventListener('dragleave', (event) => {
      if (!e.chatScreen.contains(event.relatedTarget)) e.dropZone.hidden = true;
    });
    e.chatScreen.addEventListener('drop', (event) => {
      e.dropZone.hidden = true;
      if (!dragging(event)) return;
      event.preventDefault();
      const files = filesOf(event.dataTransfer.files);
      if (files.length) handler(files);
    });
    e.chatScreen.addEventListener('paste', (event) => {
      if (e.attachButton.hidden) return;
      const files = filesOf(event.clipboardData?.files);
      if (!files.length) return; // text is pasted as usual
      event.preventDefault();
      handler(files);
    });
  }

  /** Cancel and Dismiss on the uploads list: handlers get the upload's key. */
  bindUploadActions({ onCancel, onDismiss }) {
    this.#uploadActions = { onCancel, onDismiss };
  }

  /**
   * Where attachments come from: `image(attachment, 'thumbnail' | 'full')` → Promise<src>,
   * `href(attachment)` → a download link or null (then Save calls `onSave(attachment)`).
   */
  bindAttachments(sources) {
    this.#sources = sources;
    this.#loaded.clear();
  }

  /** The chat takes files ({ maxBytes }) or not (null): Attach shows accordingly. */
  renderFiles(files) {
    this.#e.attachButton.hidden = !files;
    if (files) this.#e.attachButton.title = `Attach files up to ${formatSize(files.maxBytes)} (or drop them on the window, or paste an image)`;
  }

  /** The uploads under way ([{ key, name, size, sent, state, reason }]). */
  renderUploads(uploads) {
    const list = this.#e.uploads;
    list.hidden = uploads.length === 0;
    list.replaceChildren(
      ...uploads.map((upload) => {
        const item = el('li', `upload ${upload.state}`);
        item.dataset.upload = String(upload.key);
        item.append(el('span', 'file-name', upload.name));
        if (upload.state === 'failed') {
          item.append(el('span', 'reason', upload.reason), button('dismiss ghost', 'Dismiss'));
          return item;
        }
        const bar = el('progress');
        bar.max = Math.max(upload.size, 1);
        bar.value = upload.sent;
        bar.setAttribute('aria-label', `Sending ${upload.name}`);
        const percent = upload.size ? Math.floor((upload.sent / upload.size) * 100) : 100;
        item.append(bar, el('span', 'file-size', `${percent} % of ${formatSize(upload.size)}`), button('cancel ghost', 'Cancel'));
        return item;
      }),
    );
  }

  /** The attachment part of a chat line (null without one). */
  element(line) {
    const attachment = line.attachment;
    if (!attachment) return null;
    const box = el('div', 'attachment');
    const label = el('div', 'file-label');
    label.append(el('span', 'file-name', attachment.name), ' ', el('span', 'file-size', formatSize(attachment.size)));
    if (!attachment.id) {
      // Ours, not taken by the server yet: the name and size only.
      box.append(label);
      return box;
    }
    if (isImage(attachment)) {
      const open = button('thumb', null);
      open.setAttribute('aria-label', `Open ${attachment.name} larger`);
      const img = el('img');
      img.alt = attachment.name;
      this.#load(img, attachment, 'thumbnail');
      open.append(img);
      open.addEventListener('click', () => this.#openImage(attachment));
      box.append(open);
    }
    const href = this.#sources.href(attachment);
    if (href) {
      const link = el('a', 'save', 'Save');
      link.href = href;
      link.download = attachment.name;
      label.append(' ', link);
    } else {
      const save = button('save ghost', 'Save…');
      save.addEventListener('click', () => this.#sources.onSave(attachment));
      label.append(' ', save);
    }
    box.append(label);
    return box;
  }

  async #load(img, attachment, which) {
    const key = `${attachment.id} ${which}`;
    try {
      if (!this.#loaded.has(key)) this.#loaded.set(key, await this.#sources.image(attachment, which));
      img.src = this.#loaded.get(key);
    } catch (error) {
      img.alt = `${attachment.name} (cannot be shown: ${error?.message ?? 'unavailable'})`;
    }
  }

  /** The image larger, in a dialog: the file itself when it is a raster image, else its thumbnail. */
  #openImage(attachment) {
    const e = this.#e;
    e.imageViewImg.removeAttribute('src');
    e.imageViewImg.alt = attachment.name;
    e.imageViewName.textContent = `${attachment.name} — ${formatSize(attachment.size)}`;
    this.#load(e.imageViewImg, attachment, showsFull(attachment) ? 'full' : 'thumbnail');
    e.imageView.showModal();
  }
}
