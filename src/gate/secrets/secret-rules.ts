/**
 * What the secrets scanner looks for, one rule per credential kind. Specific rules
 * (a provider's key format, with a checksum where the format has one) run first; the
 * generic "secret-looking assignment" rule only reports spans no specific rule claimed,
 * and only values whose entropy passes a threshold and that are not placeholders.
 */
import { parseToken } from '../../identity/token-format.js';
import { shannonEntropy } from './entropy.js';

/** One match: its type and where it is in the line (never the value itself). */
export interface SecretMatch {
  type: string;
  index: number;
  length: number;
}

interface Rule {
  type: string;
  /** A global regex; group 1, when present, is the secret part (for the span). */
  re: RegExp;
  /** Extra check on the whole match and its groups. */
  valid?: (m: RegExpExecArray, line: string) => boolean;
}

/** Bits per character a generic assigned value needs to count as a secret. */
export const GENERIC_ENTROPY_THRESHOLD = 3.0;

const PLACEHOLDER = /^(?:x+|\*+|\.+|-+|_+|0+|changeme|change_me|changeit|password|passwd|secret|example|dummy|sample|placeholder|redacted|none|null|nil|undefined|true|false|todo|fixme|tbd|empty|default|string|value|token|your.*|my.*|<.*>|\[.*\]|\$\{.*\}|\$[A-Z_]+|\{\{.*\}\}|%\(.*\)s|%s)$/i;
const PLACEHOLDER_WORDS = /(example|placeholder|redacted|your[_-]?(api|secret|key|token|password)|dummy|xxxx|\*\*\*\*|insert|replace[_-]?me|changeme|<|>|\$\{|\{\{)/i;
const CODE_LIKE = /[()[\]{}]|^(os|process|env|self|this|config|settings|cfg|args|params|request|req|sys|getenv|environ|ENV|secrets|vault|st|kwargs)\b[.[]|^(os\.environ|process\.env)/;

/** Whether a value assigned to a secret-looking key is plausibly a real secret. */
export function plausibleSecretValue(value: string): boolean {
  if (value.length < 8 || value.length > 200) return false;
  if (PLACEHOLDER.test(value) || PLACEHOLDER_WORDS.test(value) || CODE_LIKE.test(value)) return false;
  if (/^\d+$/.test(value) || /^[a-z]+(?:[_-][a-z]+)*$/.test(value)) return false;
  return shannonEntropy(value) >= GENERIC_ENTROPY_THRESHOLD;
}

const entropyAtLeast = (bits: number, group = 1) => (m: RegExpExecArray) => shannonEntropy(m[group] ?? m[0]) >= bits;

/** The specific rules, most specific first. */
export const SPECIFIC_RULES: readonly Rule[] = [
  { type: 'coffer-token', re: /coffer_(?:pat|setup|share|refresh|scim)_[0-9A-Za-z]{38}(?![0-9A-Za-z])/g, valid: (m) => parseToken(m[0]) !== null },
  { type: 'coffer-s3-session-token', re: /coffer_s3session_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g },
  { type: 'coffer-s3-access-key-id', re: /(?<![A-Z0-9])CKIA[A-Z2-7]{16}(?![A-Z2-7])/g },
  { type: 'gcp-service-account-key', re: /"private_key"\s*:\s*"-----BEGIN (?:RSA )?PRIVATE KEY-----/g },
  { type: 'private-key', re: /-----BEGIN (?:(?:RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----/g },
  { type: 'aws-access-key-id', re: /(?<![A-Z0-9])((?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)[A-Z2-7]{16})(?![A-Z2-7])/g, valid: (m) => !m[1]!.endsWith('EXAMPLE') },
  {
    type: 'aws-secret-access-key',
    re: /(?:aws)?_?(?:secret)_?(?:access)?_?key["']?\s*(?:=|:|=>)\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    valid: (m) => shannonEntropy(m[1]!) >= 4.0 && !/EXAMPLE/i.test(m[1]!),
  },
  { type: 'azure-storage-key', re: /AccountKey=([A-Za-z0-9+/]{86}==)/g },
  { type: 'azure-sas-token', re: /[?&]sig=([A-Za-z0-9%+/]{40,}={0,2})/g, valid: (_m, line) => /[?&]sv=\d{4}-\d\d-\d\d/.test(line) },
  { type: 'github-token', re: /(?<![A-Za-z0-9_])(gh[pousr]_[A-Za-z0-9]{36,251})(?![A-Za-z0-9_])/g, valid: entropyAtLeast(4.0) },
  { type: 'github-token', re: /(?<![A-Za-z0-9_])(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})(?![A-Za-z0-9_])/g },
  { type: 'slack-token', re: /(?<![A-Za-z0-9-])(xox[abposre]-(?:\d{6,13}-){1,3}[A-Za-z0-9]{10,64})(?![A-Za-z0-9-])/g },
  { type: 'slack-webhook', re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,}\/B[A-Z0-9]{6,}\/[A-Za-z0-9]{20,}/g },
  { type: 'stripe-key', re: /(?<![A-Za-z0-9_])((?:sk|rk)_(?:live|test)_[0-9A-Za-z]{20,99})(?![A-Za-z0-9])/g, valid: entropyAtLeast(3.5) },
  { type: 'google-api-key', re: /(?<![A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])/g },
  { type: 'openai-api-key', re: /(?<![A-Za-z0-9_-])(sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20,200})(?![A-Za-z0-9_-])/g },
  { type: 'huggingface-token', re: /(?<![A-Za-z0-9_])(hf_[A-Za-z]{34})(?![A-Za-z0-9_])/g, valid: entropyAtLeast(3.5) },
  { type: 'url-credentials', re: /\b[a-z][a-z0-9+.-]{1,20}:\/\/[^\s:/@'"]{1,64}:([^\s:/@'"]{3,128})@[A-Za-z0-9.-]+/g, valid: (m) => !PLACEHOLDER.test(m[1]!) && !PLACEHOLDER_WORDS.test(m[1]!) },
];

/** Keys whose assigned value is a secret (the key must end with one of these). */
const GENERIC = /(?<![A-Za-z0-9])((?:[A-Za-z0-9]+[_.-])*(?:password|passwd|passphrase|pwd|secret|secret[_-]?key|api[_-]?key|apikey|api[_-]?token|auth[_-]?token|access[_-]?token|refresh[_-]?token|bearer[_-]?token|client[_-]?secret|private[_-]?key|token|credentials?))["']?\s*(?:=|:=|:|=>)\s*(["'`]?)([^\s"'`,;]{8,200})\2/gi;

/**
 * A line none of the rules can match lacks all of these: one test skips the eighteen
 * rules on most lines. Every rule's fixed part appears here (kept in step by a test).
 */
export const TRIGGER = /coffer_|CKIA|PRIVATE KEY|A(?:KIA|SIA|BIA|CCA|GPA|IDA|IPA|NPA|NVA|ROA|PKA)|AccountKey=|sig=|gh[pousr]_|github_pat_|xox|hooks\.slack|[sr]k_(?:live|test)_|AIza|T3BlbkFJ|hf_|:\/\/|pass|pwd|secret|key|token|credential/i;

/** Every secret in `line`, specific rules first, then generic assignments over unclaimed spans. */
export function findSecrets(line: string): SecretMatch[] {
  if (!TRIGGER.test(line)) return [];
  const out: SecretMatch[] = [];
  const claimed = (a: number, b: number) => out.some((s) => a < s.index + s.length && s.index < b);
  for (const rule of SPECIFIC_RULES) {
    rule.re.lastIndex = 0;
    for (let m = rule.re.exec(line); m !== null; m = rule.re.exec(line)) {
      if (rule.valid !== undefined && !rule.valid(m, line)) continue;
      const index = m.index;
      const length = m[0].length;
      if (!claimed(index, index + length)) out.push({ type: rule.type, index, length });
    }
  }
  GENERIC.lastIndex = 0;
  for (let m = GENERIC.exec(line); m !== null; m = GENERIC.exec(line)) {
    const value = m[3]!;
    const at = m.index + m[0].lastIndexOf(value);
    if (claimed(m.index, m.index + m[0].length)) continue;
    if (/id$/i.test(m[1]!) || !plausibleSecretValue(value)) continue;
    out.push({ type: 'generic-secret', index: at, length: value.length });
  }
  return out.sort((a, b) => a.index - b.index);
}
