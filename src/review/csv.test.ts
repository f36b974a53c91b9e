import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField, toCsv } from './csv.js';

void test('fields are quoted only when needed', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(null), '');
  assert.equal(csvField(['olga', 'pat']), 'olga pat');
});

void test('values a spreadsheet would evaluate are defused', () => {
  assert.equal(csvField('=HYPERLINK("http://x")'), `"'=HYPERLINK(""http://x"")"`);
  assert.equal(csvField('+1'), "'+1");
  assert.equal(csvField('-2'), "'-2");
  assert.equal(csvField('@SUM(A1)'), "'@SUM(A1)");
});

void test('a table has a header and CRLF lines', () => {
  assert.equal(toCsv([{ a: 1, b: 'x' }, { a: 2, b: 'y,z' }], ['a', 'b']), 'a,b\r\n1,x\r\n2,"y,z"\r\n');
});
