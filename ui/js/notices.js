// What a desktop notification and a screen reader say about new lines: who wrote (and whether it was
// private, §2.10), and a short gist. Pure, so its wording is tested (tests/ui/notices.test.mjs).

import { charCount } from './protocol.js';

// Longest text put in a desktop notification or a screen reader announcement.
const PREVIEW_CHARS = 140;

const preview = (text) => (charCount(text) > PREVIEW_CHARS ? `${[...text].slice(0, PREVIEW_CHARS).join('')}…` : text);
/** Who wrote a line: private messages say so. */
const who = (line) => (line.to != null ? `${line.from} (private)` : line.from);
/** A line's text; a file without a caption is its name. */
const gist = (line) => preview(line.text || (line.attachment ? `📎 ${line.attachment.name}` : ''));
const say = (line) => (line.kind === 'system' ? line.text : `${who(line)}: ${gist(line)}`);

/** The screen reader's sentence for lines that just arrived. */
export function announcement(lines) {
  const last = lines[lines.length - 1];
  return lines.length <= 3 ? lines.map(say).join('. ') : `${lines.length} new messages. Last: ${say(last)}`;
}

/**
 * The desktop notification for chat lines that arrived while the window was away: { title, body,
 * mention, conversation }. A line that mentions the user is the one shown (and is notified even with
 * notifications off: `mention`); `conversation` is where a click takes the user: the sender of a
 * private line, null for the room.
 */
export function notification(chat) {
  const mentioned = chat.filter((line) => line.mention);
  const latest = mentioned.at(-1) ?? chat[chat.length - 1];
  const mention = mentioned.length > 0;
  const conversation = latest.to != null ? latest.from : null;
  if (chat.length === 1) return { title: who(latest), body: gist(latest), mention, conversation };
  return { title: `${chat.length} new messages`, body: `${who(latest)}: ${gist(latest)}`, mention, conversation };
}
