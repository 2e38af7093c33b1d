// Unit tests of files in the chat (ui/js/files.js and the model's part): the size check made before
// anything is sent, sizes in words, attachments read from messages, captions, uploads under way.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Uploads, captionOf, fileProblem, formatSize, isImage, pastedName, readAttachment, showsFull } from '../../ui/js/files.js';
import { ChatModel } from '../../ui/js/model.js';

const MB = 1024 * 1024;

test('sizes in words', () => {
  assert.equal(formatSize(1), '1 byte');
  assert.equal(formatSize(512), '512 bytes');
  assert.equal(formatSize(1536), '1.5 KB');
  assert.equal(formatSize(25 * MB), '25 MB');
  assert.equal(formatSize(20 * MB + MB / 4), '20.3 MB');
  assert.equal(formatSize(300 * MB), '300 MB');
});

test('a file larger than maxBytes is refused in words; one at the limit goes', () => {
  const files = { maxBytes: 25 * MB };
  assert.equal(fileProblem({ name: 'a.bin', size: 25 * MB }, files), null);
  assert.equal(fileProblem({ name: 'big.iso', size: 25 * MB + 1 }, files), '“big.iso” is 25 MB: files can be at most 25 MB in this chat.');
  assert.equal(fileProblem({ name: 'huge.iso', size: 40 * MB }, files), '“huge.iso” is 40 MB: files can be at most 25 MB in this chat.');
  assert.equal(fileProblem({ name: 'a.bin', size: 1 }, null), 'This chat does not take files.');
});

test('the model takes the limit from the files event, and no files without it', () => {
  const model = new ChatModel();
  model.startSession({ server: 'http://chat', name: 'me', features: { history: true, presence: true, acks: true } });
  assert.equal(model.files, null);
  assert.equal(model.fileProblem({ name: 'x', size: 1 }), 'This chat does not take files.');
  const changes = model.applyEvents([{ type: 'files', maxBytes: 2 * MB }]);
  assert.equal(changes.files, true);
  assert.deepEqual(model.files, { maxBytes: 2 * MB });
  assert.equal(model.fileProblem({ name: 'x', size: 2 * MB }), null);
  assert.match(model.fileProblem({ name: 'x', size: 2 * MB + 1 }), /at most 2 MB/);
  model.applyEvents([{ type: 'files', maxBytes: 'lots' }]);
  assert.equal(model.files, null, 'junk is no offer');
});

const attachment = { id: 'ab'.repeat(16), name: 'cat.png', size: 2048, type: 'image/png', width: 640, height: 480, url: `/files/${'ab'.repeat(16)}/cat.png`, thumbnail: `/files/${'ab'.repeat(16)}/thumbnail` };

test('attachments are read from messages; junk is none; images are the ones with a thumbnail', () => {
  assert.deepEqual(readAttachment(attachment), attachment);
  assert.equal(readAttachment(null), null);
  assert.equal(readAttachment({ name: 'no id' }), null);
  assert.equal(readAttachment('a string'), null);
  const doc = readAttachment({ id: 'cd'.repeat(16), name: '<b>x</b>.html', size: 10, type: 'text/html', url: '/files/cd/x.html' });
  assert.equal(doc.name, '<b>x</b>.html', 'names stay text');
  assert.equal(doc.thumbnail, null);
  assert.equal(isImage(doc), false);
  assert.equal(isImage(readAttachment(attachment)), true);
  assert.equal(showsFull(readAttachment(attachment)), true);
  assert.equal(showsFull(readAttachment({ ...attachment, type: 'image/svg+xml' })), false, 'never the original of an SVG');
  assert.equal(readAttachment({ ...attachment, size: -1 }).size, 0);
});

test('the caption drops the line the server wrote for plain clients', () => {
  const line = `📎 cat.png (2 KB) http://chat/files/${attachment.id}/cat.png`;
  assert.equal(captionOf(`look at this\n${line}`, attachment), 'look at this');
  assert.equal(captionOf(line, attachment), '');
  assert.equal(captionOf(`no file here\n${line}`, null), `no file here\n${line}`);
});

test('a message with an attachment becomes a line with its file and caption', () => {
  const model = new ChatModel();
  model.startSession({ server: 'http://chat', name: 'me', features: { history: true, presence: true, acks: true } });
  const { added } = model.applyEvents([{ type: 'messages', messages: [{ id: 3, ts: 5, from: 'bob', message: `hi\n📎 cat.png (2 KB) /x`, attachment }] }]);
  assert.equal(added[0].text, 'hi');
  assert.deepEqual(added[0].attachment, attachment);
  model.addPending(7, '', { attachment: { name: 'mine.txt', size: 3, type: 'text/plain' } });
  const { updated } = model.applyEvents([{ type: 'delivered', localId: 7, message: { id: 4, ts: 6, from: 'me', message: '📎 mine.txt (3 bytes) /y', attachment: { ...attachment, name: 'mine.txt', type: 'text/plain', thumbnail: undefined } } }]);
  assert.equal(updated[0].attachment.name, 'mine.txt');
  assert.equal(updated[0].attachment.id, attachment.id);
});

test('uploads under way: progress, failure kept with why, finish removes', () => {
  const uploads = new Uploads();
  const a = uploads.start({ name: 'a.bin', size: 100 });
  const b = uploads.start({ name: 'b.bin', size: 50 });
  assert.notEqual(a.key, b.key);
  assert.equal(uploads.progress(a.key, 40).sent, 40);
  assert.equal(uploads.progress(a.key, 400).sent, 100, 'never more than the size');
  uploads.fail(b.key, 'too large');
  assert.deepEqual(uploads.list().map(({ name, state, reason }) => [name, state, reason]), [
    ['a.bin', 'uploading', null],
    ['b.bin', 'failed', 'too large'],
  ]);
  uploads.finish(a.key);
  assert.equal(uploads.progress(a.key, 1), null);
  assert.deepEqual(uploads.list().map((u) => u.name), ['b.bin']);
});

test('pasted images get a name from their type and time', () => {
  assert.equal(pastedName('image/png', new Date('2026-12-02T08:01:02Z')), 'pasted-20261202-080102.png');
  assert.equal(pastedName('image/jpeg', new Date('2026-12-02T08:01:02Z')), 'pasted-20261202-080102.jpg');
});
