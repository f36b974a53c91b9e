/**
 * Fuzz: the S3 XML parser (src/s3/xml.ts), which reads the bodies of
 * CompleteMultipartUpload, DeleteObjects and CreateBucket. Any text gives a parsed
 * element or MalformedXML, never another error; documents Coffer can write round-trip;
 * mutated valid documents, deep nesting, entity tricks and long runs of the characters
 * its regular expressions look at are refused or parsed in linear time (the suite's
 * timeout catches a catastrophic backtrack). The end-to-end fuzzer (s3-requests) sends
 * such bodies through the real endpoint.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { S3RequestError } from '../../../src/domain/errors.js';
import { escapeXml, parseXml, type XmlElement } from '../../../src/s3/xml.js';
import { fuzzParams } from './fuzz-runs.js';
import { anyText, mutatedString } from './mutations.js';

/** Parses, and checks that the only refusal is MalformedXML. */
function parseOrRefuse(text: string): XmlElement | null {
  try {
    const root = parseXml(text);
    assert.equal(typeof root.name, 'string');
    return root;
  } catch (err) {
    assert.ok(err instanceof S3RequestError, `unexpected ${String(err)}`);
    assert.equal(err.s3Code, 'MalformedXML');
    return null;
  }
}

interface Tree {
  name: string;
  prefix: string | null;
  text: string;
  children: Tree[];
}

const nameArb = fc.stringMatching(/^[A-Za-z_][\w.-]{0,8}$/);
const leafText = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '&', '<', '>', '"', "'", ' ', 'é', '\u{1F600}'), maxLength: 12 });
const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.record({
    name: nameArb,
    prefix: fc.option(fc.constantFrom('s3', 'ns1', 'x')),
    text: leafText,
    children: fc.oneof({ depthSize: 'small', withCrossShrink: true }, fc.constant<Tree[]>([]), fc.array(tie('tree'), { minLength: 1, maxLength: 3 })),
  }),
})).tree;

function serialize(t: Tree): string {
  const tag = t.prefix === null ? t.name : `${t.prefix}:${t.name}`;
  const attrs = t.prefix === null ? '' : ` xmlns:${t.prefix}="http://example.com/${t.prefix}"`;
  // the parser gathers a parent's text around its children: leaf text only, so it compares exactly
  if (t.children.length === 0) return t.text === '' ? `<${tag}${attrs}/>` : `<${tag}${attrs}>${escapeXml(t.text)}</${tag}>`;
  return `<${tag}${attrs}>${t.children.map(serialize).join('')}</${tag}>`;
}

function shape(t: Tree): unknown {
  return { name: t.name, text: t.children.length === 0 ? t.text : '', children: t.children.map(shape) };
}
function parsedShape(e: XmlElement): unknown {
  return { name: e.name, text: e.text, children: e.children.map(parsedShape) };
}

const COMPLETE = '<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><PartNumber>1</PartNumber><ETag>"a54357aff0632cce46d942af68356b38"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part><Part><PartNumber>2</PartNumber><ETag>"0c78aef83f66abc1fa1e8477f296d394"</ETag></Part></CompleteMultipartUpload>';
const DELETE = '<Delete><Quiet>true</Quiet><Object><Key>a/b&amp;c</Key><VersionId>3</VersionId></Object><Object><Key>d</Key></Object></Delete>';
const XML_ALPHABET = '<>/?!="\'&;#x:- \n\tabcDEF0123456789[]';

void describe('fuzz: S3 XML bodies', () => {
  void it('any text parses or is MalformedXML', () => {
    fc.assert(
      fc.property(fc.oneof(anyText(300), fc.string({ unit: fc.constantFrom(...XML_ALPHABET), maxLength: 300 })), (text) => {
        parseOrRefuse(text);
      }),
      fuzzParams(1000, 1601),
    );
  });

  void it('what an S3 client writes parses back to the same tree', () => {
    fc.assert(
      fc.property(treeArb, fc.boolean(), (tree, declaration) => {
        const text = `${declaration ? '<?xml version="1.0" encoding="UTF-8"?>\n' : ''}${serialize(tree)}`;
        const root = parseOrRefuse(text);
        assert.ok(root !== null, text);
        assert.deepEqual(parsedShape(root), shape(tree));
      }),
      fuzzParams(500, 1602),
    );
  });

  void it('mutated CompleteMultipartUpload and Delete documents parse or are MalformedXML', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedString(COMPLETE, XML_ALPHABET, 6), mutatedString(DELETE, XML_ALPHABET, 6)), (text) => {
        parseOrRefuse(text);
      }),
      fuzzParams(1000, 1603),
    );
  });

  void it('refuses DOCTYPE, entities and processing instructions (no XXE), and nesting beyond 65 levels', () => {
    for (const text of [
      '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><Delete><Object><Key>&x;</Key></Object></Delete>',
      '<Delete><?php echo 1; ?></Delete>',
      '<Delete><![CDATA[x]]></Delete>',
      `${'<a>'.repeat(66)}${'</a>'.repeat(66)}`,
      '<a>&#x110000;</a>',
    ]) {
      assert.equal(parseOrRefuse(text), null, text);
    }
    assert.equal(parseOrRefuse(`${'<a>'.repeat(65)}${'</a>'.repeat(65)}`)?.name, 'a');
  });

  void it('long runs of what the tag and entity expressions scan are handled in one pass (no catastrophic backtracking)', () => {
    const n = 200_000;
    for (const text of [
      `<a${' '.repeat(n)}`,
      `<a${' b="c"'.repeat(n / 8)}`,
      `<a b${'='.repeat(n)}`,
      `<a>${'&#x1'.repeat(n / 4)}</a>`,
      `<!--${'-'.repeat(n)}`,
      `${'<'.repeat(n)}`,
      `<a>${'<b/>'.repeat(n / 4)}</a>`,
      `<?xml${'?'.repeat(n)}`,
      `<a${"'".repeat(n)}>`,
    ]) {
      parseOrRefuse(text);
    }
  });
});
