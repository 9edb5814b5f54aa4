import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyDockerError, demuxLogs } from './port.ts';

const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
};

test('demuxLogs joins stdout and stderr frames in order', () => {
  const buf = Buffer.concat([frame(1, 'one\n'), frame(2, 'two\n'), frame(1, 'three\n')]);
  assert.equal(demuxLogs(buf), 'one\ntwo\nthree\n');
  assert.equal(demuxLogs(Buffer.from('tty output\n')), 'tty output\n');
  assert.equal(demuxLogs(Buffer.alloc(0)), '');
});

test('errors are classified by status code and socket code, never by message', () => {
  const kind = (e: unknown, s = {}) => classifyDockerError(e, 'op', s).kind;
  assert.equal(kind({ statusCode: 404, message: 'conflict' }), 'NotFound');
  assert.equal(kind({ statusCode: 409, message: 'no such container' }), 'Conflict');
  assert.equal(kind({ statusCode: 304, message: '' }), 'NotModified');
  assert.equal(kind({ statusCode: 500, message: 'not found' }), 'Failed');
  assert.equal(kind(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), 'Unavailable');
  assert.equal(kind(Object.assign(new Error('x'), { code: 'ENOENT' })), 'Unavailable');
  assert.equal(kind(Object.assign(new Error('x'), { code: 'EACCES' })), 'Forbidden');
  assert.equal(kind(new Error('aborted'), { timedOut: true }), 'Timeout');
  assert.equal(kind(new Error('aborted'), { aborted: true }), 'Aborted');
  const e = classifyDockerError({ statusCode: 404, message: 'No such image' }, 'inspect image x');
  assert.equal(e.statusCode, 404);
  assert.equal(e.op, 'inspect image x');
});
