// Unit tests of the console's pure helpers (web/lib.js), run with `node --test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lib = require('../../web/lib.js');

test('segment uses code-point offsets, not UTF-16 units', () => {
  // The emoji is two UTF-16 units but one code point: the finding at 2..4 must still land on 最好.
  const text = '😀您最好的选择';
  const segs = lib.segment(text, [{ start: 2, end: 4, severity: 'block', rule: 'r' }]);
  assert.deepEqual(
    segs.map((s) => [s.text, s.severity]),
    [
      ['😀您', null],
      ['最好', 'block'],
      ['的选择', null],
    ],
  );
});

test('segment flattens overlapping findings and keeps the most severe', () => {
  const segs = lib.segment('abcdef', [
    { start: 1, end: 4, severity: 'warn' },
    { start: 3, end: 5, severity: 'block' },
  ]);
  assert.deepEqual(
    segs.map((s) => [s.text, s.severity, s.indexes]),
    [
      ['a', null, []],
      ['bc', 'warn', [0]],
      ['d', 'block', [0, 1]],
      ['e', 'block', [1]],
      ['f', null, []],
    ],
  );
});

test('segment clamps out-of-range spans and ignores empty ones', () => {
  const segs = lib.segment('abc', [
    { start: 2, end: 99, severity: 'warn' },
    { start: 1, end: 1, severity: 'block' },
    { start: 5, end: 3, severity: 'block' },
  ]);
  assert.deepEqual(
    segs.map((s) => [s.text, s.severity]),
    [
      ['ab', null],
      ['c', 'warn'],
    ],
  );
  assert.deepEqual(lib.segment('', []), []);
});

test('verdictOf is the most severe finding, pass when none', () => {
  assert.equal(lib.verdictOf([]), 'pass');
  assert.equal(lib.verdictOf([{ severity: 'info' }]), 'pass');
  assert.equal(lib.verdictOf([{ severity: 'info' }, { severity: 'warn' }]), 'warn');
  assert.equal(lib.verdictOf([{ severity: 'block' }, { severity: 'warn' }]), 'block');
});

test('replaceSpan replaces by code points', () => {
  assert.equal(lib.replaceSpan('😀最好的', 1, 3, '优质'), '😀优质的');
});

function apply(ops) {
  return {
    from: ops.filter((o) => o.op !== 'ins').map((o) => o.text).join(''),
    to: ops.filter((o) => o.op !== 'del').map((o) => o.text).join(''),
  };
}

test('diffChars reconstructs both texts and finds the minimal edit', () => {
  const a = '亲，这是最好的选择，加我微信详聊';
  const b = '亲，这款很受欢迎，可在平台内详聊';
  const ops = lib.diffChars(a, b);
  assert.deepEqual(apply(ops), { from: a, to: b });
  assert.deepEqual(lib.diffChars('abc', 'abc'), [{ op: 'eq', text: 'abc' }]);
  assert.deepEqual(lib.diffChars('abxc', 'abc'), [
    { op: 'eq', text: 'ab' },
    { op: 'del', text: 'x' },
    { op: 'eq', text: 'c' },
  ]);
  assert.deepEqual(lib.diffChars('', 'ab'), [{ op: 'ins', text: 'ab' }]);
});

test('diffChars keeps emoji whole and falls back on huge inputs', () => {
  const ops = lib.diffChars('a😀b', 'a😁b');
  assert.deepEqual(ops, [
    { op: 'eq', text: 'a' },
    { op: 'del', text: '😀' },
    { op: 'ins', text: '😁' },
    { op: 'eq', text: 'b' },
  ]);
  const big = lib.diffChars('x' + 'a'.repeat(50) + 'y', 'x' + 'b'.repeat(50) + 'y', 100);
  assert.deepEqual(big.map((o) => o.op), ['eq', 'del', 'ins', 'eq']);
});

test('parseConversation reads prefixed turns and continuation lines', () => {
  const turns = lib.parseConversation('你好\n客服：在的\n顾客: 能便宜点吗\n还有赠品吗\n\n买家：好');
  assert.deepEqual(turns, [
    { role: 'customer', text: '你好' },
    { role: 'agent', text: '在的' },
    { role: 'customer', text: '能便宜点吗\n还有赠品吗' },
    { role: 'customer', text: '好' },
  ]);
  assert.deepEqual(lib.parseConversation('  \n'), []);
});

test('parseFacts reads key=value and full-width colons', () => {
  assert.deepEqual(lib.parseFacts('订单号=123\n物流：顺丰\n\n无效行'), { 订单号: '123', 物流: '顺丰' });
});

test('SseParser handles split chunks, CRLF, comments and multi-line data', () => {
  const events = [];
  const p = lib.SseParser((e) => events.push(e));
  p.push('event: delta\r');
  p.push('\ndata: {"text":"你"}\r\n\r\n: keep-alive\n\nevent: de');
  p.push('lta\ndata: {"text":"好"}\n\n');
  p.push('event: draft\ndata: line1\ndata: line2\n');
  p.end();
  assert.deepEqual(events, [
    { event: 'delta', data: '{"text":"你"}' },
    { event: 'delta', data: '{"text":"好"}' },
    { event: 'draft', data: 'line1\nline2' },
  ]);
});

test('query skips empty values and encodes the rest', () => {
  assert.equal(lib.query({ from: '2026-01-01', actor: '', verdict: undefined, q: 'a b' }), '?from=2026-01-01&q=a%20b');
  assert.equal(lib.query({}), '');
});
