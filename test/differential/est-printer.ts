/**
 * Prints Cedar's JSON policy form (as the generators build it) as Cedar text, every
 * compound sub-expression parenthesised. A test checks that cedar-wasm parses the text
 * back to the same JSON, so both engines of a differential case see the same policy.
 */

type Node = Record<string, unknown>;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(['true', 'false', 'if', 'then', 'else', 'in', 'is', 'like', 'has', 'principal', 'action', 'resource', 'context', '__cedar']);

/** A Cedar string literal. */
export function cedarString(s: string): string {
  let out = '"';
  for (const ch of s) {
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\0') out += '\\0';
    else out += ch;
  }
  return `${out}"`;
}

function entity(e: { type: string; id: string }): string {
  return `${e.type}::${cedarString(e.id)}`;
}

function value(v: unknown): string {
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return cedarString(v);
  if (typeof v === 'object' && v !== null && '__entity' in v) return entity((v as { __entity: { type: string; id: string } }).__entity);
  throw new Error(`cannot print value ${JSON.stringify(v)}`);
}

function attrName(a: string): string {
  return IDENT.test(a) && !RESERVED.has(a) ? a : cedarString(a);
}

const BINARY: Record<string, string> = {
  '==': '==', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=', '+': '+', '-': '-', '*': '*', '&&': '&&', '||': '||', in: 'in',
};
const METHODS_2 = new Set(['contains', 'containsAll', 'containsAny', 'getTag', 'hasTag']);
const CONSTRUCTORS = new Set(['ip', 'decimal', 'datetime', 'duration']);

/** Prints an expression. */
export function printExpr(node: unknown): string {
  const n = node as Node;
  const [op] = Object.keys(n);
  const body = n[op!] as Node;
  const p = (x: unknown) => `(${printExpr(x)})`;
  if (op === 'Value') return value(body);
  if (op === 'Var') return body as unknown as string;
  if (op === '!') return `!${p(body.arg)}`;
  if (op === 'neg') return `-${p(body.arg)}`;
  if (op! in BINARY) return `${p(body.left)} ${BINARY[op!]} ${p(body.right)}`;
  if (METHODS_2.has(op!)) return `${p(body.left)}.${op}(${printExpr(body.right)})`;
  if (op === 'isEmpty') return `${p(body.arg)}.isEmpty()`;
  if (op === '.') return `${p(body.left)}${IDENT.test(body.attr as string) ? `.${body.attr as string}` : `[${cedarString(body.attr as string)}]`}`;
  if (op === 'has') {
    const path = Array.isArray(body.attr) ? (body.attr as string[]) : [body.attr as string];
    return `${p(body.left)} has ${path.map(attrName).join('.')}`;
  }
  if (op === 'like') {
    const pat = (body.pattern as ('Wildcard' | { Literal: string })[])
      .map((e) => (e === 'Wildcard' ? '*' : cedarString(e.Literal).slice(1, -1).replace(/\*/g, '\\*')))
      .join('');
    return `${p(body.left)} like "${pat}"`;
  }
  if (op === 'is') return `${p(body.left)} is ${body.entity_type as string}${body.in === undefined ? '' : ` in ${p(body.in)}`}`;
  if (op === 'if-then-else') return `if ${p(body.if)} then ${p(body.then)} else ${p(body.else)}`;
  if (op === 'Set') return `[${(body as unknown as unknown[]).map(printExpr).join(', ')}]`;
  if (op === 'Record') return `{${Object.entries(body).map(([k, x]) => `${attrName(k)}: ${printExpr(x)}`).join(', ')}}`;
  const args = body as unknown as unknown[];
  if (CONSTRUCTORS.has(op!)) return `${op}(${args.map(printExpr).join(', ')})`;
  return `${p(args[0])}.${op}(${args.slice(1).map(printExpr).join(', ')})`;
}

function scope(variable: string, c: Node): string {
  const target = (x: Node) => ('slot' in x ? (x.slot as string) : entity(x.entity as { type: string; id: string }));
  switch (c.op) {
    case 'All':
      return variable;
    case '==':
      return `${variable} == ${target(c)}`;
    case 'in':
      if (Array.isArray(c.entities)) return `${variable} in [${(c.entities as { type: string; id: string }[]).map(entity).join(', ')}]`;
      return `${variable} in ${target(c)}`;
    case 'is':
      return `${variable} is ${c.entity_type as string}${c.in === undefined ? '' : ` in ${target(c.in as Node)}`}`;
  }
  throw new Error(`unknown scope ${JSON.stringify(c)}`);
}

/** Prints a policy or template. */
export function printPolicy(policy: unknown): string {
  const p = policy as Node;
  const conds = (p.conditions as { kind: string; body: unknown }[]).map((c) => ` ${c.kind} { ${printExpr(c.body)} }`).join('');
  return `${p.effect as string} (${scope('principal', p.principal as Node)}, ${scope('action', p.action as Node)}, ${scope('resource', p.resource as Node)})${conds};`;
}
