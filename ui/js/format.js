// How the conversation reads, with no DOM: message text cut into text, links and code (the view
// turns each token into nodes with textContent, so nothing from the network ever becomes HTML),
// the label of a day, and which lines go together under one name and time.

/** Consecutive lines of one sender within this long share one name and time. */
export const GROUP_WINDOW_MS = 5 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

// http(s) URLs up to the next space or a character no one writes unescaped in a link.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"`]+/gi;
// Not part of a link when at its end: "see https://example.org." or "(at https://x.org/a)".
const TRAILING = /[.,;:!?'"*_~]$/;
const CLOSERS = { ')': '(', ']': '[', '}': '{' };
// ```lang\n code ``` (the language word, if any, is not shown) and `inline code`.
const FENCE = /```(?:[\w+#.-]*\n)?([\s\S]*?)\n?```/g;
const INLINE_CODE = /`([^`\n]+)`/g;

/**
 * Message text as tokens, in order: { type: 'text' | 'code' | 'block', text } and
 * { type: 'link', text, href } (href: http or https only). Joining every token's text gives back
 * the message, except for the backticks and a fence's language word.
 */
export function tokenize(text) {
  const tokens = [];
  for (const part of split(String(text ?? ''), FENCE, 'block')) {
    if (part.type !== 'text') tokens.push(part);
    else for (const piece of split(part.text, INLINE_CODE, 'code')) tokens.push(...(piece.type === 'text' ? links(piece.text) : [piece]));
  }
  return merge(tokens);
}

/** `text` cut at each match of `pattern` (global, one group): { type, text: group } between text parts. */
function split(text, pattern, type) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push({ type: 'text', text: text.slice(last, match.index) });
    parts.push({ type, text: match[1] });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ type: 'text', text: text.slice(last) });
  return parts;
}

/** Text with its http(s) URLs as link tokens. */
function links(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = trimUrl(match[0]);
    const href = httpHref(url);
    if (!href) continue;
    if (match.index > last) parts.push({ type: 'text', text: text.slice(last, match.index) });
    parts.push({ type: 'link', text: url, href });
    last = match.index + url.length;
  }
  if (last < text.length) parts.push({ type: 'text', text: text.slice(last) });
  return parts;
}

/** Drops punctuation that ends a sentence rather than the URL, and closing brackets it did not open. */
export function trimUrl(candidate) {
  let url = candidate;
  for (;;) {
    const end = url.at(-1);
    if (TRAILING.test(url)) url = url.slice(0, -1);
    else if (CLOSERS[end] && count(url, end) > count(url, CLOSERS[end])) url = url.slice(0, -1);
    else return url;
  }
}

const count = (text, char) => text.split(char).length - 1;

/** The URL as the browser will open it, or null when it is not an http(s) URL with a host. */
function httpHref(url) {
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Neighbouring text tokens as one (a skipped candidate URL leaves text next to text). */
function merge(tokens) {
  const out = [];
  for (const token of tokens) {
    const previous = out.at(-1);
    if (token.type === 'text' && previous?.type === 'text') previous.text += token.text;
    else if (token.type !== 'text' || token.text) out.push({ ...token });
  }
  return out;
}

const startOfDay = (ts) => {
  const date = new Date(ts);
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
};

/** Whether two times fall on the same calendar day here (the user's time zone). */
export const sameDay = (a, b) => startOfDay(a) === startOfDay(b);

/**
 * The label of the day of `ts` seen at `now`, in `locale` (default: the user's): Today, Yesterday,
 * the weekday within the last week, else the date (with the year when it is not this year's).
 */
export function dayLabel(ts, now = Date.now(), locale = undefined) {
  // Rounded: a day with a daylight saving change is 23 or 25 hours long.
  const daysAgo = Math.round((startOfDay(now) - startOfDay(ts)) / DAY_MS);
  if (daysAgo === 0 || daysAgo === 1) {
    const word = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' }).format(-daysAgo, 'day');
    return word.charAt(0).toLocaleUpperCase(locale) + word.slice(1);
  }
  if (daysAgo > 1 && daysAgo < 7) return new Intl.DateTimeFormat(locale, { weekday: 'long' }).format(ts);
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear();
  const options = { weekday: 'long', day: 'numeric', month: 'long', ...(sameYear ? {} : { year: 'numeric' }) };
  return new Intl.DateTimeFormat(locale, options).format(ts);
}

/**
 * Whether `line` goes on under `previous`'s name and time: both chat lines of one sender on one day,
 * at most GROUP_WINDOW_MS apart. Announcements (kind 'system') and anything else never group.
 */
export function continues(previous, line) {
  if (previous?.kind !== 'chat' || line?.kind !== 'chat') return false;
  if (previous.from !== line.from || previous.own !== line.own) return false;
  return sameDay(previous.ts, line.ts) && Math.abs(line.ts - previous.ts) <= GROUP_WINDOW_MS;
}
