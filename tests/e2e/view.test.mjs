// The conversation view in the real webview (WebKitGTK via tauri-driver): day separators and
// grouping over a chat log that spans days, links opened through the opener plugin, code in a
// monospace font, the chat's name in the header, the title and the recent servers, the people
// toggle of a narrow window, the online list while reconnecting, and Cancel while joining.
// Started by tests/e2e/run.sh (display, tauri-driver, E2E_OPENED: the URLs "the system browser" got).
//
// The log spans days for real: our server keeps it in SQLite (--data-dir) and is started with its
// clock 9, 3 and 1 days back (libfaketime, Debian package faketime), then at the real time, the other
// people posting in each run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { By } from 'selenium-webdriver';
import { e2e, freePort, launchApp, stopProcess, tcpProxy } from './support.mjs';

const { CONFAB_SERVER_BIN, E2E_OPENED } = process.env;
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WAIT = 15_000;
const CHAT_NAME = 'Design team';
const DAY_MS = 24 * 60 * 60 * 1000;

let driver;
const { startProcess, person, waitFor, screenshot, texts, line, visible, statusIs, join, leave, cleanup } = e2e({
  wait: WAIT,
  driver: () => driver,
  shots: SHOTS,
});

// The library itself, preloaded into the server (the faketime command would keep it as a child it
// does not pass SIGTERM to).
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

/**
 * Our server on `port` with its log in `dataDir`, its clock `daysAgo` days back (0: the real clock).
 * Started through env (which execs it): support's startProcess makes a direct run --ephemeral.
 */
function chatServer(port, dataDir, daysAgo) {
  const args = [CONFAB_SERVER_BIN, '--bind', '127.0.0.1', '--port', String(port), '--data-dir', dataDir, '--chat-name', CHAT_NAME, '--rate', '0'];
  if (!daysAgo) return startProcess('env', args, /listening/, 'confab-server');
  // Timers use the monotonic clock, which stays real: only the time of day moves back.
  const clock = { LD_PRELOAD: LIBFAKETIME, FAKETIME: `-${daysAgo}d`, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
  return startProcess('env', args, /listening/, `confab-server ${daysAgo} days ago`, clock);
}

/** `name` joins and posts each text, each acknowledged (stored) before the next. */
async function says(url, name, ...messages) {
  const socket = await person(url, name);
  for (const message of messages) {
    const answer = await socket.timeout(WAIT).emitWithAck('message', { from: name, message });
    assert.ok(answer.id, `stored: ${message}`);
  }
  return socket;
}

/**
 * What the page shows for each line and day separator of the message list (not the "load older"
 * control or markers): its kind, whether it goes on from the one above, its text, its visible sender.
 */
const conversation = () =>
  driver.executeScript(`return [...document.querySelectorAll('#messages > li.day, #messages > li.msg, #messages > li.system')].map((e) => ({
    kind: e.classList.contains('day') ? 'day' : e.classList.contains('system') ? 'system' : 'msg',
    cont: e.classList.contains('cont'),
    text: e.classList.contains('day') ? e.textContent : (e.querySelector('.text')?.textContent ?? ''),
    from: e.querySelector('.from') && getComputedStyle(e.querySelector('.meta')).display !== 'none' && getComputedStyle(e.querySelector('.from')).display !== 'none' ? e.querySelector('.from').textContent : null,
  }))`);

/** The element's textContent (getText depends on layout and is not what these checks are about). */
const textOf = (element) => driver.executeScript('return arguments[0].textContent', element);

/** The native window's title, as the X server has it. */
const nativeTitles = () => execFileSync('xwininfo', ['-root', '-tree'], { encoding: 'utf8' });

describe('the conversation view', () => {
  let dataDir;
  let port;
  let url;
  let proxy;
  let ann; // still in the chat after posting today

  before(async () => {
    await access(LIBFAKETIME).catch(() => assert.fail(`${LIBFAKETIME} is missing: apt-get install faketime`));
    dataDir = await mkdtemp(joinPath(tmpdir(), 'confab-view-'));
    port = await freePort();
    url = `http://127.0.0.1:${port}`;
    for (const [daysAgo, name, text] of [[9, 'ann', 'nine days ago'], [3, 'ann', 'three days ago'], [1, 'bob', 'yesterday evening']]) {
      const old = await chatServer(port, dataDir, daysAgo);
      (await says(url, name, text)).close();
      await stopProcess(old);
    }
    await chatServer(port, dataDir, 0);
    ann = await says(url, 'ann', 'one', 'two', 'three');
    await says(url, 'bob', 'from bob', 'see https://example.org/confab-e2e.', 'run `cargo test -p confab` now',
      '```\nfn main() {\n    println!("hi");\n}\n```', '<b>bold</b> `<i>not html</i>`');
    // The app joins through a proxy, to be cut off later.
    proxy = await tcpProxy(port);
    driver = await launchApp();
  });

  after(async () => {
    await proxy?.close();
    await cleanup();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  test('the chat name is in the header and the window title', async () => {
    await join(`127.0.0.1:${proxy.port}`, 'desk');
    await line('from bob');
    const title = await driver.findElement(By.id('chat-title'));
    await waitFor('the chat name in the header', async () => (await textOf(title)) === CHAT_NAME);
    assert.equal(await textOf(await driver.findElement(By.id('server-name'))), `127.0.0.1:${proxy.port}`);
    await waitFor('the chat name in the title', async () => (await driver.getTitle()) === `Confab — ${CHAT_NAME}`);
    await waitFor('the native window title', () => nativeTitles().includes(`"Confab — ${CHAT_NAME}"`));
  });

  test('day separators: a date, a weekday, Yesterday, Today, each above its first line', async () => {
    const now = Date.now();
    const list = await conversation();
    const days = list.filter((e) => e.kind === 'day').map((e) => e.text);
    const weekday = (ms) => new Intl.DateTimeFormat('en-US', { weekday: 'long' }).format(now - ms);
    const date = new Intl.DateTimeFormat('en-US', { weekday: 'long', day: 'numeric', month: 'long' }).format(now - 9 * DAY_MS);
    assert.deepEqual(days, [date, weekday(3 * DAY_MS), 'Yesterday', 'Today']);
    // Every separator comes right before the first line of its day, whatever kind of line.
    const firstAfter = (label) => list[list.findIndex((e) => e.kind === 'day' && e.text === label) + 1];
    assert.equal(list[0].kind, 'day');
    assert.equal(list.filter((e) => e.text === 'nine days ago').length, 1);
    const order = (text) => list.findIndex((e) => e.text === text);
    assert.ok(order(date) < order('nine days ago') && order('nine days ago') < order(weekday(3 * DAY_MS)));
    assert.ok(order(weekday(3 * DAY_MS)) < order('three days ago') && order('three days ago') < order('Yesterday'));
    assert.ok(order('Yesterday') < order('yesterday evening') && order('yesterday evening') < order('Today'));
    assert.ok(order('Today') < order('one'));
    assert.notEqual(firstAfter('Today').kind, 'day');
    await screenshot('view-conversation');
  });

  test('consecutive lines of one sender are grouped under one name and time', async () => {
    const list = await conversation();
    const at = (text) => list.find((e) => e.kind === 'msg' && e.text === text);
    assert.deepEqual([at('one'), at('two'), at('three')].map((e) => [e.cont, e.from]), [[false, 'ann'], [true, null], [true, null]]);
    // Another sender starts a group; a join announcement between two lines of one sender breaks it.
    assert.deepEqual([at('from bob').cont, at('from bob').from], [false, 'bob']);
    assert.deepEqual([at('see https://example.org/confab-e2e.').cont, at('see https://example.org/confab-e2e.').from], [true, null]);
    // A grouped line keeps its name and time in its tooltip.
    const tooltip = await (await line('two')).getAttribute('title');
    assert.match(tooltip, /^ann, /);
    // Live: an announcement between two lines of one sender breaks the group.
    ann.emit('message', { from: 'ann', message: 'live one' });
    await line('live one');
    ann.emit('message', { from: 'ann', message: 'live two' });
    await line('live two');
    (await person(url, 'carol')).close();
    await line('carol left the chat');
    ann.emit('message', { from: 'ann', message: 'live three' });
    await line('live three');
    const live = (await conversation()).filter((e) => e.text.startsWith('live') || e.kind === 'system').slice(-5);
    assert.deepEqual(live.map((e) => [e.kind, e.cont, e.text]), [
      ['msg', false, 'live one'], ['msg', true, 'live two'], ['system', false, 'carol has joined the chat'],
      ['system', false, 'carol left the chat'], ['msg', false, 'live three'],
    ]);
  });

  test('a link is an <a> that opens in the system browser through the opener plugin', async () => {
    const element = await line('see https://example.org/confab-e2e.');
    const link = await element.findElement(By.css('.text a.link'));
    assert.equal(await link.getText(), 'https://example.org/confab-e2e'); // the full stop is not part of it
    assert.equal(await link.getAttribute('href'), 'https://example.org/confab-e2e');
    assert.equal(await link.getAttribute('target'), '_blank');
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer');
    const before = await driver.getCurrentUrl();
    await link.click();
    const opened = await waitFor('the system browser to be asked for the link', async () =>
      (await readFile(E2E_OPENED, 'utf8').catch(() => '')).split('\n').find((u) => u === 'https://example.org/confab-e2e'),
    );
    assert.ok(opened);
    assert.equal(await driver.getCurrentUrl(), before, 'the app window did not navigate');
    assert.ok(await driver.findElement(By.id('chat-screen')).isDisplayed());
  });

  test('the opener may open http and https URLs only', async () => {
    const refused = await driver.executeAsyncScript(`const done = arguments[arguments.length - 1];
      window.__TAURI_INTERNALS__.invoke('plugin:opener|open_url', { url: 'file:///etc/passwd' }).then(() => done('opened'), (e) => done(String(e)));`);
    assert.match(refused, /not allowed|forbidden|scope/i);
    assert.ok(!(await readFile(E2E_OPENED, 'utf8')).includes('file:'), 'nothing but the link was opened');
  });

  test('inline code and code blocks are monospace text', async () => {
    const inline = await (await line('cargo test -p confab')).findElement(By.css('.text code.code'));
    assert.equal(await inline.getText(), 'cargo test -p confab');
    const font = (element) => driver.executeScript('return getComputedStyle(arguments[0]).fontFamily', element);
    const body = await font(await driver.findElement(By.css('#messages .msg .text')));
    assert.match(await font(inline), /monospace/);
    assert.doesNotMatch(body, /^ui-monospace|^"?DejaVu Sans Mono/);
    const block = await (await line('println!')).findElement(By.css('.text pre.code-block code'));
    assert.equal(await block.getAttribute('textContent'), 'fn main() {\n    println!("hi");\n}');
    assert.match(await font(block), /monospace/);
    assert.equal(await driver.executeScript("return getComputedStyle(arguments[0].parentElement).whiteSpace", block), 'pre');
    // Markup from the network is text, inside code and out.
    const markup = await line('not html');
    assert.equal(await markup.findElements(By.css('b, i')).then((found) => found.length), 0);
    assert.equal(await markup.findElement(By.css('.text')).getAttribute('textContent'), '<b>bold</b> <i>not html</i>');
  });

  test('a narrow window has a People button for the online list and keeps the chat name readable', async () => {
    const atBottom = () =>
      driver.executeScript("const m = document.getElementById('messages'); return m.scrollHeight - m.scrollTop - m.clientHeight < 4");
    assert.equal(await atBottom(), true);
    await driver.manage().window().setRect({ width: 500, height: 680 });
    await waitFor('the narrow layout', async () => (await driver.executeScript('return innerWidth')) <= 640);
    // Lines are taller in a narrow window: the newest one stays in view.
    await waitFor('the view to stay at the bottom', atBottom);
    const toggle = await driver.findElement(By.id('people-toggle'));
    const people = await driver.findElement(By.id('people'));
    assert.ok(await toggle.isDisplayed());
    assert.equal(await people.isDisplayed(), false);
    const title = await driver.findElement(By.id('chat-title'));
    const fits = await driver.executeScript('return arguments[0].scrollWidth <= arguments[0].clientWidth', title);
    assert.ok(fits, 'the chat name is not cut');
    await screenshot('view-narrow');
    await toggle.click();
    await waitFor('the online list to open', () => people.isDisplayed());
    assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
    assert.ok((await texts('#people-list li')).includes('desk (you)'));
    await screenshot('view-narrow-people');
    await toggle.click();
    await waitFor('the online list to close', async () => !(await people.isDisplayed()));
    await driver.manage().window().setRect({ width: 960, height: 680 });
    await waitFor('the wide layout', async () => (await driver.executeScript('return innerWidth')) > 640);
    await waitFor('the view to stay at the bottom', atBottom);
  });

  test('while reconnecting, the online list says it is as last seen', async () => {
    const people = await driver.findElement(By.id('people'));
    assert.equal(await people.getAttribute('class'), 'people');
    const cut = proxy.cut(3000);
    await statusIs('Reconnecting…');
    assert.match(await people.getAttribute('class'), /\bstale\b/);
    assert.equal(await textOf(await driver.findElement(By.id('people-stale'))), 'As last seen: reconnecting…');
    const opacity = await driver.executeScript("return getComputedStyle(document.querySelector('#people-list')).opacity");
    assert.ok(Number(opacity) < 1, `greyed (opacity ${opacity})`);
    await screenshot('view-reconnecting');
    await cut;
    await statusIs('Connected');
    assert.doesNotMatch(await people.getAttribute('class'), /\bstale\b/);
    assert.equal(await driver.findElement(By.id('people-stale')).isDisplayed(), false);
  });

  test('recent servers show the chat name above the address; the connect screen fits the window', async () => {
    await leave();
    const pick = await waitFor('the recent server', async () => {
      const picks = await driver.findElements(By.css('#recent-list .pick'));
      for (const p of picks) if ((await textOf(p)).includes(CHAT_NAME)) return p;
      return null;
    });
    const [name, where] = await Promise.all([pick.findElement(By.css('.chat')), pick.findElement(By.css('.where'))]);
    assert.equal(await textOf(name), CHAT_NAME);
    assert.equal(await textOf(where), `127.0.0.1:${proxy.port}`);
    assert.ok((await name.getRect()).y + (await name.getRect()).height <= (await where.getRect()).y + 1, 'the name is above the address');
    // The default window (tauri.conf.json: 960 x 680) shows the form, Host a chat… and the recent
    // servers (their heading and the newest entry; a long list goes on below, as a page does).
    const fit = await driver.executeScript(`return ['#host-open', '#recent-list li:first-child', '#connect-button'].map((css) => {
      const r = document.querySelector(css).getBoundingClientRect();
      return r.height > 0 && r.bottom <= innerHeight;
    })`);
    const layout = await driver.executeScript(`return innerHeight + ': ' + ['nearby', 'server', 'connect-button', 'host-open', 'recent', 'recent-title', 'recent-list']
      .map((id) => id + ' ' + Math.round(document.getElementById(id).getBoundingClientRect().top) + '+' + Math.round(document.getElementById(id).getBoundingClientRect().height)).join(', ') + ' first ' + JSON.stringify(document.querySelector('#recent-list li')?.getBoundingClientRect())`);
    await screenshot('view-connect');
    assert.deepEqual(fit, [true, true, true], layout);
    assert.equal(await driver.findElement(By.id('nearby-help')).getAttribute('open'), null, 'the help is folded');
    await screenshot('view-connect');
  });

  test('joining an address that never answers shows progress and can be cancelled', async () => {
    // Accepts the connection and never says a word.
    const silent = net.createServer(() => {}).listen(0, '127.0.0.1');
    await new Promise((resolve) => silent.once('listening', resolve));
    const where = `127.0.0.1:${silent.address().port}`;
    try {
      await join(where, 'desk');
      const progress = await visible('#connect-progress');
      assert.equal(await textOf(progress), `Connecting to ${where}…`);
      const cancel = await visible('#connect-cancel');
      await waitFor('the no-answer-yet text', async () => (await textOf(progress)).startsWith(`Still connecting to ${where}: no answer yet.`));
      // From the X server: WebDriver's screenshot waits until the page's pending request (the join) is over.
      execFileSync('import', ['-window', 'root', `${SHOTS}view-joining.png`]);
      await cancel.click();
      const button = await driver.findElement(By.id('connect-button'));
      await waitFor('the form back', async () => (await button.isEnabled()) && (await textOf(button)) === 'Join');
      assert.equal(await textOf(await driver.findElement(By.id('connect-error'))), 'Not joined: cancelled.');
      assert.equal(await cancel.isDisplayed(), false);
      assert.equal(await progress.isDisplayed(), false);
      // The cancelled join is really over: another one goes through at once.
      const started = Date.now();
      await join(`127.0.0.1:${proxy.port}`, 'desk');
      await visible('#chat-screen');
      assert.ok(Date.now() - started < 5000, `joined ${Date.now() - started} ms after the cancel`);
    } finally {
      silent.close();
    }
  });
});
