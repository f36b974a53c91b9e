import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanBytes } from '../artifact-scan.js';
import { findPii, knownCardIssuer, luhnValid, validSsn } from './detectors.js';

const types = (text: string, field?: string) => findPii(text, field).map((m) => m.type);

test('SSN validity rules', () => {
  assert.equal(validSsn('123', '45', '6780'), true);
  for (const [a, g, s] of [['000', '12', '3456'], ['666', '12', '3456'], ['900', '12', '3456'], ['999', '12', '3456'], ['123', '00', '4567'], ['123', '45', '0000'], ['078', '05', '1120']]) assert.equal(validSsn(a!, g!, s!), false, `${a}-${g}-${s}`);
  assert.deepEqual(types('ssn 123-45-6780'), ['us-ssn']);
  assert.deepEqual(types('id 123456780'), []);
  assert.deepEqual(types('123456780', 'ssn'), ['us-ssn']);
});

test('cards: Luhn and issuer ranges', () => {
  assert.equal(luhnValid('4111111111111111'), true);
  assert.equal(luhnValid('4111111111111112'), false);
  assert.equal(knownCardIssuer('4111111111111111'), true);
  assert.equal(knownCardIssuer('1111111111111117'), false);
  assert.deepEqual(types('card 4111 1111 1111 1111'), ['payment-card']);
  assert.deepEqual(types('card 4111 1111 1111 1112'), []);
  assert.deepEqual(types('amex 3782-822463-10005'), ['payment-card']);
});

test('IBAN mod 97 and country length', () => {
  assert.deepEqual(types('pay DE89 3704 0044 0532 0130 00 now'), ['iban']);
  assert.deepEqual(types('pay DE88 3704 0044 0532 0130 00 now'), []);
  assert.deepEqual(types('GB82WEST12345698765432'), ['iban']);
});

test('IP addresses, but not versions or loopback', () => {
  assert.deepEqual(types('from 203.0.113.9'), ['ip-address']);
  assert.deepEqual(types('version 1.2.3.4'), []);
  assert.deepEqual(types('127.0.0.1'), []);
  assert.deepEqual(types('via 2001:db8::8a2e:370:7334'), ['ip-address']);
  assert.deepEqual(types('at 12:30:45'), []);
});

test('dates of birth need context', () => {
  assert.deepEqual(types('born on 1987-03-05'), ['date-of-birth']);
  assert.deepEqual(types('released on 1987-03-05'), []);
  assert.deepEqual(types('1987-03-05', 'date_of_birth'), ['date-of-birth']);
  assert.deepEqual(types('2025-03-05T10:00:00Z', 'dob'), []);
});

test('phones: formatted numbers of the configured regions, E.164 anywhere', () => {
  assert.deepEqual(types('call (415) 555-2671'), ['phone']);
  assert.deepEqual(types('call +44 20 7946 0958'), ['phone']);
  assert.deepEqual(types('order 4155552671'), []);
  assert.deepEqual(types('4155552671', 'phone'), ['phone']);
  assert.deepEqual(types('released 2017-11-09'), []);
});

test('CSV findings name the row and column; JSON Lines the key path; never the value', () => {
  const csv = 'id,contact,notes\n1,a.b@example.com,"multi\nline note, call (415) 555-2671"\n2,x,y\n';
  const r = scanBytes(Buffer.from(csv), { name: 'd.csv' });
  assert.deepEqual(
    r.pii.findings.map((f) => [f.type, f.location.row, f.location.field]),
    [
      ['email', 1, 'contact'],
      ['phone', 1, 'notes'],
    ],
  );
  const jl = scanBytes(Buffer.from('{"u":{"mail":"a.b@example.com"},"n":[1,{"ip":"203.0.113.9"}]}\nnot json a.b@example.com\n'), { name: 'd.jsonl' });
  assert.deepEqual(
    jl.pii.findings.map((f) => [f.type, f.location.row ?? f.location.line, f.location.field]),
    [
      ['email', 1, '$.u.mail'],
      ['ip-address', 1, '$.n[1].ip'],
      ['email', 2, undefined],
    ],
  );
  assert.ok(!JSON.stringify(r).includes('a.b@example.com'));
});
