/**
 * Parses the Python literal subset numpy writes in .npy headers (`{'descr': '<f4',
 * 'fortran_order': False, 'shape': (3, 4), }`): dicts, lists, tuples, strings, integers,
 * floats, True/False/None. Hand-written because nothing on npm parses Python literals and
 * `ast.literal_eval` semantics are all numpy relies on. Bounded: input length and nesting.
 */

/** A parsed literal. Tuples come back as arrays, dicts as Maps (keys may be non-strings). */
export type PyLiteral = string | number | boolean | null | PyLiteral[] | Map<PyLiteral, PyLiteral>;

const MAX_DEPTH = 64;

/** Parses `text`; throws an Error on anything outside the subset. */
export function parsePythonLiteral(text: string): PyLiteral {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (depth: number): PyLiteral => {
    if (depth > MAX_DEPTH) throw new Error('literal nested too deep');
    ws();
    const c = text[i];
    if (c === undefined) throw new Error('unexpected end');
    if (c === '{') {
      i++;
      const m = new Map<PyLiteral, PyLiteral>();
      for (;;) {
        ws();
        if (text[i] === '}') {
          i++;
          return m;
        }
        const k = value(depth + 1);
        ws();
        if (text[i++] !== ':') throw new Error('expected `:`');
        m.set(k, value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== '}') throw new Error('expected `,` or `}`');
      }
    }
    if (c === '(' || c === '[') {
      const close = c === '(' ? ')' : ']';
      i++;
      const out: PyLiteral[] = [];
      for (;;) {
        ws();
        if (text[i] === close) {
          i++;
          return out;
        }
        out.push(value(depth + 1));
        ws();
        if (text[i] === ',') i++;
        else if (text[i] !== close) throw new Error(`expected \`,\` or \`${close}\``);
      }
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\') {
          i++;
          const e = text[i];
          s += e === 'n' ? '\n' : e === 't' ? '\t' : (e ?? '');
        } else s += text[i];
        i++;
      }
      if (text[i] !== c) throw new Error('unterminated string');
      i++;
      return s;
    }
    const m = /^(True|False|None|[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?L?)/.exec(text.slice(i, i + 64));
    if (m === null) throw new Error('unexpected token');
    i += m[0].length;
    if (m[0] === 'True') return true;
    if (m[0] === 'False') return false;
    if (m[0] === 'None') return null;
    return Number(m[0].replace(/L$/, ''));
  };
  const v = value(0);
  ws();
  if (i !== text.length) throw new Error('trailing characters');
  return v;
}
