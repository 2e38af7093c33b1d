// Unit tests of the conversation's formatting (ui/js/format.js): links and code as tokens, day
// labels, grouping. No DOM; fixed times and locales.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GROUP_WINDOW_MS, continues, dayLabel, sameDay, tokenize, trimUrl } from '../../ui/js/format.js';

const at = (y, m, d, h = 12, min = 0) => new Date(y, m - 1, d, h, min).getTime();
const NOW = at(2026, 12, 2, 9, 30); // a Wednesday

test('a URL becomes a link token; the text around it stays text', () => {
  assert.deepEqual(tokenize('see https://example.org/a?b=1#c now'), [
    { type: 'text', text: 'see ' },
    { type: 'link', text: 'https://example.org/a?b=1#c', href: 'https://example.org/a?b=1#c' },
    { type: 'text', text: ' now' },
  ]);
  assert.deepEqual(tokenize('http://h:7878'), [{ type: 'link', text: 'http://h:7878', href: 'http://h:7878/' }]);
  assert.deepEqual(tokenize('HTTPS://Example.org/X'), [{ type: 'link', text: 'HTTPS://Example.org/X', href: 'https://example.org/X' }]);
});

test('trailing punctuation and unbalanced closing brackets are not part of a URL', () => {
  const link = (text) => tokenize(text).filter((t) => t.type === 'link').map((t) => t.text);
  assert.deepEqual(link('Go to https://example.org.'), ['https://example.org']);
  assert.deepEqual(link('(see https://example.org/a), then'), ['https://example.org/a']);
  assert.deepEqual(link('really? https://example.org/?q=1!'), ['https://example.org/?q=1']);
  assert.deepEqual(link('"https://example.org/x"'), ['https://example.org/x']);
  assert.deepEqual(link('https://en.wikipedia.org/wiki/Rust_(programming_language).'), ['https://en.wikipedia.org/wiki/Rust_(programming_language)']);
  assert.deepEqual(link('two: https://a.org, https://b.org;'), ['https://a.org', 'https://b.org']);
  assert.equal(trimUrl('https://a.org/x]).'), 'https://a.org/x');
  assert.deepEqual(tokenize('end https://a.org.').at(-1), { type: 'text', text: '.' });
});

test('only http and https become links', () => {
  for (const text of ['javascript:alert(1)', 'ftp://example.org', 'file:///etc/passwd', 'mailto:a@b.org', 'data:text/html,<b>x</b>', 'https://', 'http://:80']) {
    assert.ok(tokenize(text).every((t) => t.type === 'text'), text);
  }
  // A link's href is always http(s), whatever follows.
  const [token] = tokenize('https://x.org/"onmouseover="alert(1)');
  assert.equal(token.href, 'https://x.org/');
});

test('inline code and fenced blocks are code tokens; no links inside them', () => {
  assert.deepEqual(tokenize('run `cargo test -p x` then'), [
    { type: 'text', text: 'run ' },
    { type: 'code', text: 'cargo test -p x' },
    { type: 'text', text: ' then' },
  ]);
  assert.deepEqual(tokenize('before\n```js\nconst a = `x`;\nfetch("https://a.org")\n```\nafter'), [
    { type: 'text', text: 'before\n' },
    { type: 'block', text: 'const a = `x`;\nfetch("https://a.org")' },
    { type: 'text', text: '\nafter' },
  ]);
  assert.deepEqual(tokenize('```one line```'), [{ type: 'block', text: 'one line' }]);
  assert.deepEqual(tokenize('`https://a.org` and https://b.org'), [
    { type: 'code', text: 'https://a.org' },
    { type: 'text', text: ' and ' },
    { type: 'link', text: 'https://b.org', href: 'https://b.org/' },
  ]);
});

test('what is not code or a link stays text exactly, markup included', () => {
  for (const text of ['plain', '<img src=x onerror=alert(1)>', 'a ` single', 'unclosed ``` fence', '``', '', '🦀 é']) {
    assert.deepEqual(tokenize(text).map((t) => t.text).join(''), text, text);
    assert.ok(tokenize(text).every((t) => t.type === 'text'), text);
  }
});

test('day labels: Today, Yesterday, the weekday within a week, else the date', () => {
  assert.equal(dayLabel(at(2026, 12, 2, 0, 1), NOW, 'en'), 'Today');
  assert.equal(dayLabel(at(2026, 12, 1, 23, 59), NOW, 'en'), 'Yesterday');
  assert.equal(dayLabel(at(2026, 11, 30), NOW, 'en'), 'Monday');
  assert.equal(dayLabel(at(2026, 11, 26), NOW, 'en'), 'Thursday');
  assert.equal(dayLabel(at(2026, 11, 25), NOW, 'en'), 'Wednesday, November 25');
  assert.equal(dayLabel(at(2025, 12, 24), NOW, 'en'), 'Wednesday, December 24, 2025');
  // A clock ahead of ours: its date, not "Today".
  assert.equal(dayLabel(at(2026, 12, 3), NOW, 'en'), 'Thursday, December 3');
});

test('day labels are in the user\'s locale', () => {
  assert.equal(dayLabel(NOW, NOW, 'de'), 'Heute');
  assert.equal(dayLabel(at(2026, 12, 1), NOW, 'de'), 'Gestern');
  assert.equal(dayLabel(at(2026, 11, 30), NOW, 'de'), 'Montag');
  assert.equal(dayLabel(at(2026, 12, 1), NOW, 'fr'), 'Hier');
  assert.match(dayLabel(at(2026, 11, 1), NOW, 'fr'), /^dimanche 1 novembre$/);
});

test('days are calendar days, not 24-hour spans', () => {
  assert.ok(sameDay(at(2026, 12, 2, 0, 0), at(2026, 12, 2, 23, 59)));
  assert.ok(!sameDay(at(2026, 12, 1, 23, 59), at(2026, 12, 2, 0, 1)));
  // Across a daylight saving change (whatever the zone, the label counts days).
  assert.equal(dayLabel(at(2026, 3, 29, 1), at(2026, 3, 30, 1), 'en'), 'Yesterday');
  assert.equal(dayLabel(at(2026, 10, 25, 23), at(2026, 10, 26, 0, 30), 'en'), 'Yesterday');
});

test('grouping: one sender within 5 minutes on one day; announcements and others break it', () => {
  const chat = (from, ts, own = false) => ({ kind: 'chat', from, ts, own });
  const t = at(2026, 12, 2, 10);
  assert.ok(continues(chat('ann', t), chat('ann', t + 1000)));
  assert.ok(continues(chat('ann', t), chat('ann', t + GROUP_WINDOW_MS)));
  assert.ok(!continues(chat('ann', t), chat('ann', t + GROUP_WINDOW_MS + 1)));
  assert.ok(!continues(chat('ann', t), chat('bob', t + 1000)));
  assert.ok(!continues(chat('ann', t), { kind: 'system', from: 'Server', ts: t + 1000 }));
  assert.ok(!continues({ kind: 'system', from: 'Server', ts: t }, chat('ann', t + 1000)));
  assert.ok(!continues(undefined, chat('ann', t)));
  // Our own line and someone else's of the same name (a seed server does not free names) do not merge.
  assert.ok(!continues(chat('me', t, true), chat('me', t + 1000, false)));
  // A new day starts a new group, even a minute later.
  assert.ok(!continues(chat('ann', at(2026, 12, 1, 23, 59)), chat('ann', at(2026, 12, 2, 0, 0))));
});
