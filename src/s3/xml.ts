import type { Readable } from 'node:stream';
import { S3RequestError } from '../domain/errors.js';

/** The S3 XML namespace of every response document. */
export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** A child of an element being built: nested elements, or leaf text (null and undefined are left out). */
export type XmlNode = { [tag: string]: XmlValue };
export type XmlValue = string | number | boolean | null | undefined | XmlNode | XmlNode[] | XmlValue[];

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  // control characters (keys may hold them) as character references, as S3 writes them;
  // `\r` too, which an XML parser would otherwise normalise away
  // eslint-disable-next-line no-control-regex
  return text.replace(/[&<>"']|[\u0000-\u0008\u000b\u000c\u000d\u000e-\u001f]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`);
}

function render(tag: string, value: XmlValue): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map((v) => render(tag, v)).join('');
  if (typeof value === 'object') {
    const inner = Object.entries(value)
      .map(([t, v]) => render(t, v))
      .join('');
    return `<${tag}>${inner}</${tag}>`;
  }
  return `<${tag}>${escapeXml(String(value))}</${tag}>`;
}

/** A whole S3 response document: `<?xml ...?><Root xmlns="...">...</Root>`. */
export function xmlDocument(root: string, body: XmlNode, options: { namespace?: boolean } = {}): string {
  const inner = Object.entries(body)
    .map(([t, v]) => render(t, v))
    .join('');
  const ns = options.namespace === false ? '' : ` xmlns="${S3_NS}"`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${inner}</${root}>`;
}

/** A parsed XML element: name without prefix, children, text. */
export interface XmlElement {
  name: string;
  children: XmlElement[];
  text: string;
}

/** The first child named `name`, or undefined. */
export function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

/** Every child named `name`. */
export function children(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((c) => c.name === name);
}

const malformed = () => new S3RequestError('the XML you provided was not well-formed or did not validate against our published schema', { s3Code: 'MalformedXML' });

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#\d{1,7}|amp|lt|gt|quot|apos);/g, (_m, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    const code = e.startsWith('#x') ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    if (code > 0x10ffff) throw malformed();
    return String.fromCodePoint(code);
  });
}

/**
 * Parses the small XML documents S3 clients send (CompleteMultipartUpload, Delete,
 * CreateBucketConfiguration). Elements, text and the five predefined entities only:
 * a DOCTYPE, an entity declaration or processing instruction is refused (no XXE).
 */
export function parseXml(text: string): XmlElement {
  let s = text.replace(/^\uFEFF/, '').replace(/^\s*<\?xml[^?]*\?>/, '');
  s = s.replace(/<!--[\s\S]*?-->/g, '');
  if (/<!|<\?/.test(s)) throw malformed();
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(s); m !== null; m = tag.exec(s)) {
    const between = s.slice(last, m.index);
    if (between.includes('<') || between.includes('>')) throw malformed();
    if (stack.length > 0) stack[stack.length - 1]!.text += decodeEntities(between);
    else if (between.trim() !== '') throw malformed();
    last = tag.lastIndex;
    const [, closing, rawName, , selfClosing] = m;
    const name = rawName!.includes(':') ? rawName!.slice(rawName!.indexOf(':') + 1) : rawName!;
    if (closing) {
      const open = stack.pop();
      if (open === undefined || open.name !== name) throw malformed();
      if (stack.length === 0) root = open;
      continue;
    }
    if (root !== null || stack.length > 64) throw malformed();
    const element: XmlElement = { name, children: [], text: '' };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(element);
    if (selfClosing) {
      if (stack.length === 0) root = element;
    } else {
      stack.push(element);
    }
  }
  if (stack.length > 0 || root === null || s.slice(last).trim() !== '') throw malformed();
  return root;
}

/** Reads a small request body (XML) up to `limit` bytes; longer is MalformedXML. */
export async function readSmallBody(body: Readable, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > limit) {
      body.destroy();
      throw new S3RequestError(`the XML body is larger than ${limit} bytes`, { s3Code: 'MalformedXML' });
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks, total).toString('utf8');
}
