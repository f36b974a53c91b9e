/**
 * Personal-data detectors over one piece of text (a line, a CSV field, a JSON value).
 * Each returns spans (type, index, length), never values. Candidates come from regular
 * expressions; each is then validated the way its format defines validity:
 * - emails: RFC 5321 shape, a top-level domain that is not a file extension;
 * - phone numbers: libphonenumber-js (full metadata) for E.164 and the national formats of
 *   the configured regions; a bare digit run counts only in a phone-named field;
 * - US SSNs: area not 000, 666 or 9xx, group not 00, serial not 0000, not a published
 *   sample; a bare 9-digit run only in an SSN-named field or after "SSN";
 * - payment cards: 13-19 digits, Luhn, and a known issuer range (IIN);
 * - IBANs: ibantools (country, length, BBAN format, mod 97);
 * - IP addresses: IPv4 octets in range (not a version string), IPv6 by node:net;
 *   loopback and unspecified addresses are not personal data;
 * - dates of birth: a date in a birth-named field, or within 40 characters after
 *   "dob", "birth", "born" and the like.
 * Overlaps are resolved by priority (IBAN, card, SSN, IP, date of birth, phone, email).
 */
import { isValidIBAN } from 'ibantools';
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { isIPv6 } from 'node:net';

/** A personal-data type. */
export type PiiType = 'email' | 'phone' | 'us-ssn' | 'payment-card' | 'iban' | 'ip-address' | 'date-of-birth';

/** One match in the text. */
export interface PiiMatch {
  type: PiiType;
  index: number;
  length: number;
}

/** Options of the detectors. */
export interface PiiOptions {
  /** Regions whose national phone formats are recognized (E.164 always is). */
  phoneRegions: readonly CountryCode[];
}

/** Default phone regions. */
export const DEFAULT_PII_OPTIONS: PiiOptions = { phoneRegions: ['US', 'GB', 'DE', 'FR', 'IN'] };

const PRIORITY: PiiType[] = ['iban', 'payment-card', 'us-ssn', 'ip-address', 'date-of-birth', 'phone', 'email'];

const EMAIL = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![A-Za-z0-9-])/g;
const FILE_TLDS = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'css', 'js', 'ts', 'py', 'json', 'html', 'txt', 'md', 'pdf']);

const CARD = /(?<![0-9A-Za-z.-])\d(?:[ -]?\d){12,18}(?![0-9A-Za-z]|[.-]\d)/g;
const SSN_FORMATTED = /(?<![0-9A-Za-z-])(\d{3})-(\d{2})-(\d{4})(?![0-9A-Za-z]|-\d)/g;
const SSN_BARE = /(?<![0-9A-Za-z-])(\d{3})[ ]?(\d{2})[ ]?(\d{4})(?![0-9A-Za-z]|-\d)/g;
const SSN_CONTEXT = /\b(ssn|social security( number| no\.?)?|soc\.? ?sec\.?)\b/i;
const IBAN = /(?<![A-Za-z0-9])([A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}){3,9})(?![a-z0-9])/g;
const IPV4 = /(?<![\d.])((?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3})(?![\d]|\.\d)/g;
const IPV6 = /(?<![0-9A-Fa-f:.])((?:[0-9A-Fa-f]{1,4}:|:){2,7}(?::|[0-9A-Fa-f]{1,4})(?:%[A-Za-z0-9]+)?)(?![0-9A-Fa-f:])/g;
const PHONE = /(?<![\w+.-])(\+?\(?\d[\d ()-]{5,20}\d|\d{3}\.\d{3}\.\d{4})(?![\w]|[.-]\d)/g;
const MONTHS = 'Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?';
const DATES = [
  /(?<!\d)(19\d\d|20\d\d)([-/.])(0?[1-9]|1[0-2])\2(0?[1-9]|[12]\d|3[01])(?![\d])/g,
  /(?<!\d)(0?[1-9]|[12]\d|3[01])([/.-])(0?[1-9]|[12]\d|3[01])\2(19\d\d|20\d\d)(?!\d)/g,
  new RegExp(`\\b(?:${MONTHS})\\.? \\d{1,2}(?:st|nd|rd|th)?,? (?:19|20)\\d\\d\\b`, 'gi'),
  new RegExp(`\\b\\d{1,2}(?:st|nd|rd|th)? (?:${MONTHS})\\.?,? (?:19|20)\\d\\d\\b`, 'gi'),
];
const DOB_CONTEXT = /(\bdob\b|\bd\.o\.b\.?|date of birth|birth ?date|birth ?day|\bbirth\b|\bborn\b|\bgeboren\b|\bnée?\b)/i;
const DOB_FIELD = /(dob|birth|born|bday)/i;
const PHONE_FIELD = /(phone|tel|mobile|cell|fax|msisdn)/i;
const SSN_FIELD = /(ssn|social.?sec)/i;

/** Luhn checksum over a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** Whether `digits` is in a card issuer's IIN range with a length that issuer uses. */
export function knownCardIssuer(digits: string): boolean {
  const n = digits.length;
  const p2 = Number(digits.slice(0, 2));
  const p3 = Number(digits.slice(0, 3));
  const p4 = Number(digits.slice(0, 4));
  const p6 = Number(digits.slice(0, 6));
  if (digits[0] === '4') return n === 13 || n === 16 || n === 19; // Visa
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return n === 16; // Mastercard
  if (p2 === 34 || p2 === 37) return n === 15; // American Express
  if (p4 === 6011 || p2 === 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925)) return n >= 16 && n <= 19; // Discover
  if (p4 >= 3528 && p4 <= 3589) return n >= 16 && n <= 19; // JCB
  if ((p3 >= 300 && p3 <= 305) || p2 === 36 || p2 === 38 || p2 === 39) return n >= 14 && n <= 19; // Diners Club
  if (p2 === 62) return n >= 16 && n <= 19; // UnionPay
  if (p2 === 50 || (p2 >= 56 && p2 <= 69)) return n >= 12 && n <= 19; // Maestro
  return false;
}

/** US SSN validity rules (SSA): area, group and serial ranges, and the published samples. */
export function validSsn(area: string, group: string, serial: string): boolean {
  const a = Number(area);
  if (a === 0 || a === 666 || a >= 900) return false;
  if (group === '00' || serial === '0000') return false;
  const whole = `${area}${group}${serial}`;
  return whole !== '078051120' && whole !== '219099999' && whole !== '123456789';
}

/** Whether an IPv4 text is an address that can identify someone (not loopback, unspecified or broadcast). */
function personalIpv4(ip: string): boolean {
  return !ip.startsWith('127.') && !ip.startsWith('0.') && ip !== '255.255.255.255';
}

/** Every personal-data match in `text`; `field` (CSV column or JSON key) gives context. */
export function findPii(text: string, field: string | undefined, options: PiiOptions = DEFAULT_PII_OPTIONS): PiiMatch[] {
  const found: PiiMatch[] = [];
  const add = (type: PiiType, index: number, length: number) => found.push({ type, index, length });
  const hasDigits = /\d/.test(text);

  if (text.includes('@')) {
    EMAIL.lastIndex = 0;
    for (let m = EMAIL.exec(text); m !== null; m = EMAIL.exec(text)) {
      if (FILE_TLDS.has(m[1]!.toLowerCase()) || text[m.index + m[0].length] === ':') continue;
      add('email', m.index, m[0].length);
    }
  }
  if (!hasDigits) return found;
  // cheap bounds first: most lines hold too few digits for most formats
  let digitCount = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digitCount++;
  }

  CARD.lastIndex = digitCount >= 13 ? 0 : text.length;
  for (let m = CARD.exec(text); m !== null; m = CARD.exec(text)) {
    const raw = m[0];
    const digits = raw.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19) continue;
    // separators, when present, must be one kind in groups (4-4-4-4, 4-6-5, ...)
    const seps = raw.match(/[ -]/g);
    if (seps !== null && (new Set(seps).size > 1 || raw.split(/[ -]/).some((g) => g.length < 3 || g.length > 6))) continue;
    if (/^(\d)\1+$/.test(digits) || !luhnValid(digits) || !knownCardIssuer(digits)) continue;
    add('payment-card', m.index, raw.length);
  }

  IBAN.lastIndex = digitCount >= 6 ? 0 : text.length;
  for (let m = IBAN.exec(text); m !== null; m = IBAN.exec(text)) {
    const compact = m[1]!.replace(/ /g, '');
    // the greedy candidate may run into a following word: try every length from the longest
    for (let len = compact.length; len >= 15; len--) {
      if (isValidIBAN(compact.slice(0, len))) {
        let chars = 0;
        let end = m.index;
        while (chars < len && end < text.length) {
          if (text[end] !== ' ') chars++;
          end++;
        }
        add('iban', m.index, end - m.index);
        break;
      }
    }
  }

  SSN_FORMATTED.lastIndex = digitCount >= 9 ? 0 : text.length;
  for (let m = SSN_FORMATTED.exec(text); m !== null; m = SSN_FORMATTED.exec(text)) {
    if (validSsn(m[1]!, m[2]!, m[3]!)) add('us-ssn', m.index, m[0].length);
  }
  if ((field !== undefined && SSN_FIELD.test(field)) || SSN_CONTEXT.test(text)) {
    SSN_BARE.lastIndex = 0;
    for (let m = SSN_BARE.exec(text); m !== null; m = SSN_BARE.exec(text)) {
      if (validSsn(m[1]!, m[2]!, m[3]!)) add('us-ssn', m.index, m[0].length);
    }
  }

  if (digitCount >= 4 && text.includes('.')) {
    IPV4.lastIndex = 0;
    for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
      const before = text.slice(Math.max(0, m.index - 9), m.index);
      if (/(v|version|ver\.?|release)\s*$/i.test(before) || !personalIpv4(m[1]!)) continue;
      add('ip-address', m.index, m[1]!.length);
    }
  }
  if (text.includes(':')) {
    IPV6.lastIndex = 0;
    for (let m = IPV6.exec(text); m !== null; m = IPV6.exec(text)) {
      const ip = m[1]!;
      if (!isIPv6(ip) || ip === '::' || ip === '::1' || (ip.match(/:/g)?.length ?? 0) < 2 || !/[0-9a-fA-F]{2}/.test(ip)) continue;
      add('ip-address', m.index, ip.length);
    }
  }

  const birthField = field !== undefined && DOB_FIELD.test(field);
  if (birthField || DOB_CONTEXT.test(text)) {
    const thisYear = new Date().getUTCFullYear();
    for (const re of DATES) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        const year = Number(/(19|20)\d\d/.exec(m[0])![0]);
        // a date of birth carries no time of day: a timestamp is not one
        if (year > thisYear || /^(T|\s)\d\d:\d\d/.test(text.slice(m.index + m[0].length))) continue;
        const before = text.slice(Math.max(0, m.index - 40), m.index);
        if (birthField || DOB_CONTEXT.test(before)) add('date-of-birth', m.index, m[0].length);
      }
    }
  }

  const phoneField = field !== undefined && PHONE_FIELD.test(field);
  PHONE.lastIndex = digitCount >= 7 ? 0 : text.length;
  for (let m = PHONE.exec(text); m !== null; m = PHONE.exec(text)) {
    const raw = m[1]!;
    const digits = raw.replace(/\D/g, '');
    if (digits.length < 7 || digits.length > 15) continue;
    const formatted = raw.startsWith('+') || /[ ().-]/.test(raw);
    // a bare digit run is a phone number only when it is the whole value of a phone-named field
    if (!formatted && !(phoneField && raw === text.trim())) continue;
    // SSN-shaped (3-2-4) and date-shaped candidates are never phone numbers
    if (/^\d{3}-\d{2}-\d{4}$/.test(raw) || /^\d{4}[-/]\d{1,2}[-/]\d{1,2}$|^\d{1,2}[-/]\d{1,2}[-/]\d{4}$/.test(raw)) continue;
    if (validPhone(raw, options)) add('phone', m.index, raw.length);
  }

  return resolveOverlaps(found);
}

/** Recent phone validations (libphonenumber costs tens of microseconds a call); bounded. */
const PHONE_CACHE = new Map<string, boolean>();
const PHONE_CACHE_SIZE = 10_000;

function validPhone(raw: string, options: PiiOptions): boolean {
  const key = `${options.phoneRegions.join(',')}|${raw}`;
  const hit = PHONE_CACHE.get(key);
  if (hit !== undefined) return hit;
  const v = checkPhone(raw, options);
  if (PHONE_CACHE.size >= PHONE_CACHE_SIZE) PHONE_CACHE.clear();
  PHONE_CACHE.set(key, v);
  return v;
}

function checkPhone(raw: string, options: PiiOptions): boolean {
  try {
    if (raw.startsWith('+')) return parsePhoneNumberFromString(raw)?.isValid() === true;
    for (const region of options.phoneRegions) if (parsePhoneNumberFromString(raw, region)?.isValid() === true) return true;
  } catch {
    return false;
  }
  return false;
}

/** Keeps, among overlapping matches, the one whose type comes first in PRIORITY. */
function resolveOverlaps(found: PiiMatch[]): PiiMatch[] {
  const sorted = [...found].sort((a, b) => PRIORITY.indexOf(a.type) - PRIORITY.indexOf(b.type) || a.index - b.index);
  const kept: PiiMatch[] = [];
  for (const m of sorted) {
    if (kept.some((k) => m.index < k.index + k.length && k.index < m.index + m.length)) continue;
    kept.push(m);
  }
  return kept.sort((a, b) => a.index - b.index);
}
