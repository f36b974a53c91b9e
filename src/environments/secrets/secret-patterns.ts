import { parseToken } from '../../identity/token-format.js';

/**
 * The secret formats Coffer looks for, in one place: leaked-key scanning of files and git
 * history (`coffer token scan`) and the IaC rule on secrets in plain attributes both use
 * them. Each pattern is anchored on a fixed, identifiable part (a prefix, a PEM header, a
 * `key=` context) and bounded, so matching stays linear on hostile input.
 */
export type SecretKind =
  | 'coffer-token'
  | 'aws-access-key-id'
  | 'aws-secret-access-key'
  | 'gcp-service-account-key'
  | 'gcp-api-key'
  | 'azure-storage-key'
  | 'azure-sas-token'
  | 'azure-shared-access-key'
  | 'private-key'
  | 'github-token';

/** One secret found in a line of text. */
export interface SecretMatch {
  kind: SecretKind;
  /** Offset of the secret in the line. */
  index: number;
  /**
   * The secret itself, kept only in memory (to revoke a Coffer token).
   * INVARIANT: never printed, logged or written: show {@link SecretMatch.redacted}.
   */
  secret: string;
  /** An identifiable, non-secret prefix: the fixed part plus at most 4 characters of the secret. */
  redacted: string;
}

interface Pattern {
  kind: SecretKind;
  description: string;
  /** Global regex; group 1 (if any) is the secret, else the whole match. */
  re: RegExp;
  /** Characters of the match shown before `…` (the fixed part and a little of the rest). */
  show: (secret: string) => number;
  /** An extra check (a checksum, a context) that rejects look-alikes. */
  valid?: (secret: string, line: string, index: number) => boolean;
}

const PATTERNS: Pattern[] = [
  {
    kind: 'coffer-token',
    description: 'Coffer token (prefix and CRC32 checksum verified)',
    re: /coffer_(?:pat|setup|share|refresh|scim)_[0-9A-Za-z]{38}(?![0-9A-Za-z])/g,
    show: (s) => s.indexOf('_', 7) + 5,
    valid: (s) => parseToken(s) !== null,
  },
  {
    kind: 'aws-access-key-id',
    description: 'AWS access key id (AKIA/ASIA...)',
    re: /(?<![A-Za-z0-9/+])(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}(?![A-Za-z0-9/+=])/g,
    show: () => 8,
  },
  {
    kind: 'aws-secret-access-key',
    description: 'AWS secret access key (40 characters after a secret-key name)',
    re: /(?:aws_?)?secret_?(?:access_?)?key["']?\s*[:=]>?\s*["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])/gi,
    show: () => 4,
  },
  {
    kind: 'gcp-service-account-key',
    description: 'Google service-account key (JSON `private_key`)',
    re: /"private_key"\s*:\s*"(-----BEGIN (?:RSA )?PRIVATE KEY-----[^"]{0,64})/g,
    show: () => 27,
  },
  {
    kind: 'gcp-api-key',
    description: 'Google API key',
    re: /(?<![0-9A-Za-z_-])AIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g,
    show: () => 8,
  },
  {
    kind: 'azure-storage-key',
    description: 'Azure storage account key (`AccountKey=` of a connection string)',
    re: /AccountKey=([A-Za-z0-9+/]{86}==)/g,
    show: () => 4,
  },
  {
    kind: 'azure-shared-access-key',
    description: 'Azure Service Bus / Event Hubs shared access key (`SharedAccessKey=`)',
    re: /SharedAccessKey=([A-Za-z0-9+/]{42,43}=)/g,
    show: () => 4,
  },
  {
    kind: 'azure-sas-token',
    description: 'Azure shared access signature (`sv=...&sig=...`)',
    re: /[?&]sig=([A-Za-z0-9%/+]{30,120}(?:%3D|=){0,2})/gi,
    show: () => 4,
    // a `sig=` alone is common; a SAS also carries its service version in the same URL
    valid: (_s, line, index) => /[?&]sv=\d{4}-\d{2}-\d{2}/i.test(urlAround(line, index)),
  },
  {
    kind: 'private-key',
    description: 'PEM private key',
    re: /-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----/g,
    show: (s) => s.length,
  },
  {
    kind: 'github-token',
    description: 'GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)',
    re: /(?<![0-9A-Za-z_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![0-9A-Za-z_])/g,
    show: (s) => (s.startsWith('github_pat_') ? 15 : 8),
  },
];

/** Cheap pre-filter: a line without any of these substrings holds no secret. */
const HINTS = /coffer_|AKIA|ASIA|ABIA|ACCA|A3T|secret|private_key|AIza|AccountKey=|SharedAccessKey=|sig=|PRIVATE KEY|gh[pousr]_|github_pat_/i;

/** The kinds this module finds, with a description each (for documentation). */
export const SECRET_KINDS: readonly { kind: SecretKind; description: string }[] = PATTERNS.map((p) => ({ kind: p.kind, description: p.description }));

/**
 * Every secret in `line` (a line of text, or any string value). Overlapping matches keep
 * the first pattern listed (a service-account JSON key is not also reported as a bare
 * PEM key).
 */
export function findSecrets(line: string): SecretMatch[] {
  if (!HINTS.test(line)) return [];
  const out: SecretMatch[] = [];
  const taken: [number, number][] = [];
  for (const p of PATTERNS) {
    p.re.lastIndex = 0;
    for (const m of line.matchAll(p.re)) {
      const secret = m[1] ?? m[0];
      const index = m.index + m[0].indexOf(secret);
      const end = m.index + m[0].length;
      if (taken.some(([a, b]) => m.index < b && end > a)) continue;
      if (p.valid && !p.valid(secret, line, m.index)) continue;
      taken.push([m.index, end]);
      out.push({ kind: p.kind, index, secret, redacted: redact(secret, p.show(secret)) });
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

/** True when `text` holds at least one secret. */
export function containsSecret(text: string): boolean {
  return findSecrets(text).length > 0;
}

/** Names of attributes and settings that hold credentials (`password`, `client_secret`, `api_key`...). */
const SECRET_NAME = /(^|[_-])(password|passwd|pwd|secret|token|api_?key|access_?key|private_?key|secret_?key|client_?secret|connection_?string|sas|credentials?)([_-]|$)/i;
/** Names that look like credentials but hold none (`password_length`, `secret_name`, `token_ttl`...). */
const NOT_SECRET_NAME = /(_|-)(length|len|min|max|policy|name|names|id|ids|arn|version|ttl|expiry|expiration|enabled|required|rotation|reset|type|count|prefix|path|uri|url|hint|hash|wo_version)$|^(secret_|token_)?(id|arn)$|^(creation|client|idempotency|request|continuation|next|page|pagination)_token$/i;

/** True when an attribute or variable named `name` is meant to hold a credential. */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name);
}

function redact(secret: string, show: number): string {
  const n = Math.max(0, Math.min(show, secret.length));
  return n >= secret.length && secret.startsWith('-----BEGIN') ? secret : `${secret.slice(0, n)}…`;
}

/** The whitespace- and quote-delimited token around `index` (the URL a `sig=` sits in). */
function urlAround(line: string, index: number): string {
  let a = index;
  let b = index;
  const stop = (c: string | undefined) => c === undefined || c === ' ' || c === '"' || c === "'" || c === '\t' || c === '<' || c === '>';
  while (a > 0 && !stop(line[a - 1]) && index - a < 4096) a--;
  while (b < line.length && !stop(line[b]) && b - index < 4096) b++;
  return line.slice(a, b);
}
