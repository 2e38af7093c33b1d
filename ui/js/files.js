// Files and images in the chat (PROTOCOL.md §2.11), without DOM or network: sizes in words, the
// size check made before anything is sent, what an attachment message carries, and the uploads
// under way.

const KB = 1024;
const MB = 1024 * 1024;
// The image types the server reads and makes thumbnails of (its width/height say it did).
const RASTER_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** "512 bytes", "12.5 KB", "3.2 MB" (binary units, as the server counts its limit). */
export function formatSize(bytes) {
  if (bytes < KB) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
  if (bytes < MB) return `${trimmed(bytes / KB)} KB`;
  return `${trimmed(bytes / MB)} MB`;
}

const trimmed = (value) => (value >= 100 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, ''));

/**
 * Why a file of `size` bytes named `name` cannot be sent to a server that takes files up to
 * `files.maxBytes` (its `files` event), in words; null when it can.
 */
export function fileProblem({ name, size }, files) {
  if (!files) return 'This chat does not take files.';
  if (size > files.maxBytes) return `“${name}” is ${formatSize(size)}: files can be at most ${formatSize(files.maxBytes)} in this chat.`;
  return null;
}

const text = (value) => (typeof value === 'string' ? value : null);
const count = (value) => (Number.isSafeInteger(value) && value >= 0 ? value : null);

/** The `attachment` of a message as the server describes it, or null when it has none (or junk). */
export function readAttachment(value) {
  if (!value || typeof value !== 'object') return null;
  const id = text(value.id);
  const url = text(value.url);
  if (!id || !url) return null;
  return {
    id,
    name: text(value.name) ?? 'file',
    size: count(value.size) ?? 0,
    type: text(value.type) ?? 'application/octet-stream',
    width: count(value.width),
    height: count(value.height),
    url,
    thumbnail: text(value.thumbnail),
  };
}

/** Whether the chat shows the attachment as an image (the server made a thumbnail of it). */
export function isImage(attachment) {
  return Boolean(attachment?.thumbnail);
}

/** Whether the full file may be shown as an image too (a raster type the server could read). */
export function showsFull(attachment) {
  return isImage(attachment) && attachment.width != null && RASTER_TYPES.has(attachment.type);
}

/**
 * The caption of an attachment message: the server writes `📎 name (size) URL` as the text's last
 * line for plain clients; the chat shows the file itself instead of that line.
 */
export function captionOf(message, attachment) {
  if (!attachment) return message;
  const lines = message.split('\n');
  if (lines[lines.length - 1].startsWith('📎')) lines.pop();
  return lines.join('\n');
}

/** A file's name for pasted images, which come without one. */
export function pastedName(type, now = new Date()) {
  const ext = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/gif': 'gif', 'image/webp': 'webp' }[type] ?? 'bin';
  const stamp = now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return `pasted-${stamp}.${ext}`;
}

/** Uploads under way: key → { key, name, size, sent, state: 'uploading' | 'failed', reason }. */
export class Uploads {
  #items = new Map();
  #next = 1;

  start({ name, size }) {
    const upload = { key: this.#next++, name, size, sent: 0, state: 'uploading', reason: null };
    this.#items.set(upload.key, upload);
    return upload;
  }

  progress(key, sent) {
    const upload = this.#items.get(key);
    if (upload) upload.sent = Math.min(sent, upload.size);
    return upload ?? null;
  }

  /** Done or cancelled: it goes from the list. */
  finish(key) {
    this.#items.delete(key);
  }

  /** It could not be sent: kept in the list with why, until dismissed. */
  fail(key, reason) {
    const upload = this.#items.get(key);
    if (upload) Object.assign(upload, { state: 'failed', reason });
    return upload ?? null;
  }

  list() {
    return [...this.#items.values()].map((upload) => ({ ...upload }));
  }

  clear() {
    this.#items.clear();
  }
}
