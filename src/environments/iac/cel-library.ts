import { isIP } from 'node:net';
import { Environment } from '@marcbachmann/cel-js';
import { containsSecret, findSecrets, isSecretName } from '../secrets/secret-patterns.js';
import { isJsonObject, parseBoundedJson } from './bounded-json.js';
import type { JsonValue } from './bounded-json.js';
import { parseReference } from './resource-graph.js';
import { ownerOf, UnknownValueError } from './resource-view.js';
import type { PlanResource } from './parse-plan.js';

/**
 * The CEL environment rules are written in: one variable, `resource` (see
 * {@link ResourceView}), and the functions below. Each function is documented in
 * {@link CEL_FUNCTIONS} (the rule catalogue prints that list). Functions read values
 * through the view, so reading a value known only after apply makes the verdict
 * `unknown`, as it does in plain CEL.
 */
export const CEL_FUNCTIONS: readonly { signature: string; doc: string }[] = [
  { signature: 'related(resource, type) -> list', doc: 'resources of `type` linked to `resource` (by configuration references or by matching ids/names) that exist after apply' },
  { signature: 'attr(value, "a.b.0.c") -> dyn', doc: 'the value at a dotted path, or null when any step is missing' },
  { signature: 'setting(resource, "a.0.b") -> dyn', doc: 'the value at a path of `resource.values`; null when it is missing, or when it is known only after apply and the configuration does not set it (the provider computes it: a default the rule treats as unset)' },
  { signature: 'isSet(resource, "a.0.b") -> bool', doc: 'true when the configuration sets the argument (to a literal or a reference, even one known only after apply), or its value is a non-empty known value' },
  { signature: 'networkRules(resource) -> list', doc: 'the traffic rules of a security group (inline `ingress`/`egress`), security group rule, VPC security group ingress/egress rule, compute firewall, network security group (inline `security_rule`) or network security rule, normalized: `direction` (`ingress`/`egress`), `action` (`allow`/`deny`), `protocol` (lowercase; `all` for every protocol), `ports` (specs such as `22`, `20-30`, `*`), `peers` (the remote address ranges: sources of ingress, destinations of egress)' },
  { signature: 'reaches(rule, port) -> bool', doc: 'true when a normalized rule lets TCP traffic reach `port`' },
  { signature: 'reachesAllPorts(rule) -> bool', doc: 'true when a normalized rule opens every port (of every protocol, or of TCP or UDP)' },
  { signature: 'gcpBindings(resource) -> list', doc: 'the IAM bindings of a Google `*_iam_member`, `*_iam_binding` or `*_iam_policy` resource, normalized: `role`, `members`' },
  { signature: 'seconds(value) -> int', doc: 'a duration such as `7776000s` in seconds (-1 when it is not one)' },
  { signature: 'items(value) -> list', doc: 'a list as is, null as [], anything else as a one-element list (nested blocks are lists of one)' },
  { signature: 'worldCidr(value) -> bool', doc: 'true for an address range open to the internet: /0, an IPv4 prefix up to /8 or an IPv6 prefix up to /16 outside private ranges, `*`, `Internet`, `Any`' },
  { signature: 'allProtocols(value) -> bool', doc: 'true for "-1", "all", "*", "any" (every protocol)' },
  { signature: 'exposes(protocol, from_port, to_port, port) -> bool', doc: 'true when a rule for `protocol` and the port range reaches TCP `port` (all protocols reach every port; a null range means all ports)' },
  { signature: 'portSpecCovers(spec, port) -> bool', doc: 'true when a port spec (`22`, `20-30`, `*`, `Any`) includes `port`' },
  { signature: 'policyStatements(json) -> list', doc: 'the statements of a JSON IAM policy document, normalized: `effect`, `actions`, `not_actions`, `resources`, `not_resources`, `principals` (`*`, `AWS:*`, `AWS:arn...`), `has_condition`' },
  { signature: 'awsPolicyStatements(resource) -> list', doc: 'the statements of an AWS IAM resource: its `policy` (or a `data.aws_iam_policy_document` its `policy` refers to when that is known only after apply), inline policies of a role, or a policy document\'s `json` / `statement` blocks' },
  { signature: 'publicPrincipal(principals) -> bool', doc: 'true when a normalized principal list holds everyone (`*` or `AWS:*`)' },
  { signature: 'containsSecret(value) -> bool', doc: 'true when a string holds a credential of a known format (cloud keys, private keys, GitHub and Coffer tokens)' },
  { signature: 'plainSecrets(resource) -> list', doc: 'paths of attributes whose value holds a credential of a known format and is not marked sensitive (values known only after apply are skipped: they come from elsewhere)' },
  { signature: 'hardcodedSecrets(resource) -> list', doc: 'paths of credential-named arguments (`password`, `client_secret`, `api_key`...) set to a literal in the configuration' },
  { signature: 'mlNetwork(resource) -> bool', doc: 'true for a network control (security group or rule, firewall, NSG or rule) tagged `coffer-network = training` (GCP: target tag `coffer-training`) or linked, through networks, subnets and associations, to an ML workload' },
];

/** Resource types that run ML workloads (notebooks, training, endpoints): what makes a network a training network. */
export const ML_WORKLOAD_TYPES: readonly string[] = [
  'aws_sagemaker_notebook_instance',
  'aws_sagemaker_domain',
  'aws_sagemaker_model',
  'aws_sagemaker_space',
  'google_notebooks_instance',
  'google_workbench_instance',
  'google_vertex_ai_endpoint',
  'google_colab_runtime_template',
  'azurerm_machine_learning_workspace',
  'azurerm_machine_learning_compute_cluster',
  'azurerm_machine_learning_compute_instance',
];

/** Types a path from a network control to an ML workload may pass through. */
const NETWORK_TYPES = new Set([
  'aws_security_group',
  'aws_default_security_group',
  'google_compute_network',
  'google_compute_subnetwork',
  'azurerm_network_security_group',
  'azurerm_subnet_network_security_group_association',
  'azurerm_subnet',
  'azurerm_network_interface_security_group_association',
  'azurerm_network_interface',
]);

const POLICY_LIMITS = { maxLength: 1024 * 1024, maxDepth: 64 };

let shared: Environment | undefined;

/** The CEL environment of IaC rules (built once; compiling and evaluating do not change it). */
export function iacEnvironment(): Environment {
  shared ??= buildEnvironment();
  return shared;
}

function buildEnvironment(): Environment {
  const env = new Environment({
    enableOptionalTypes: true,
    homogeneousAggregateLiterals: false,
    limits: { maxAstNodes: 5000, maxDepth: 64, maxListElements: 1000, maxMapEntries: 1000, maxCallArguments: 8 },
  });
  env.registerVariable('resource', 'map', { description: 'the resource instance under check' });
  env.registerFunction('related(map, string): list<dyn>', (v: unknown, type: string) => {
    const owner = ownerOf(v);
    if (owner === null) throw new Error('related() takes a resource');
    return owner.factory.graph.related(owner.resource, type).map((r) => owner.factory.view(r));
  });
  env.registerFunction('attr(dyn, string): dyn', (v: unknown, path: string) => attr(v, path));
  env.registerFunction('setting(map, string): dyn', (v: unknown, path: string) => setting(v, path));
  env.registerFunction('isSet(map, string): bool', (v: unknown, path: string) => isSet(v, path));
  env.registerFunction('networkRules(map): list<dyn>', (v: unknown) => networkRules(v));
  env.registerFunction('reaches(dyn, int): bool', (r: unknown, port: bigint) => reaches(r as NetRule, Number(port)));
  env.registerFunction('reachesAllPorts(dyn): bool', (r: unknown) => reachesAllPorts(r as NetRule));
  env.registerFunction('gcpBindings(map): list<dyn>', (v: unknown) => gcpBindings(v));
  env.registerFunction('seconds(dyn): int', (v: unknown) => BigInt(seconds(v)));
  env.registerFunction('items(dyn): list<dyn>', (v: unknown) => items(v));
  env.registerFunction('worldCidr(dyn): bool', (v: unknown) => worldCidr(v));
  env.registerFunction('allProtocols(dyn): bool', (v: unknown) => allProtocols(v));
  env.registerFunction('exposes(dyn, dyn, dyn, int): bool', (p: unknown, from: unknown, to: unknown, port: bigint) => exposes(p, from, to, Number(port)));
  env.registerFunction('portSpecCovers(dyn, int): bool', (spec: unknown, port: bigint) => portSpecCovers(spec, Number(port)));
  env.registerFunction('policyStatements(dyn): list<dyn>', (json: unknown) => policyStatements(json));
  env.registerFunction('awsPolicyStatements(map): list<dyn>', (v: unknown) => awsPolicyStatements(v));
  env.registerFunction('publicPrincipal(dyn): bool', (v: unknown) => items(v).some((p) => p === '*' || p === 'AWS:*'));
  env.registerFunction('containsSecret(dyn): bool', (v: unknown) => typeof v === 'string' && containsSecret(v));
  env.registerFunction('plainSecrets(map): list<string>', (v: unknown) => plainSecrets(v));
  env.registerFunction('hardcodedSecrets(map): list<string>', (v: unknown) => hardcodedSecrets(v));
  env.registerFunction('mlNetwork(map): bool', (v: unknown) => mlNetwork(v));
  return env;
}

function resourceOf(v: unknown, fn: string): { resource: PlanResource; view: Record<string, unknown> } {
  const owner = ownerOf(v);
  if (owner === null) throw new Error(`${fn}() takes a resource`);
  return { resource: owner.resource, view: v as Record<string, unknown> };
}

/** The value at a dotted path (numeric steps index lists), or null. Unknown values still throw. */
export function attr(v: unknown, path: string): unknown {
  let cur: unknown = v;
  for (const step of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return null;
    if (Array.isArray(cur)) {
      const i = Number(step);
      if (!Number.isInteger(i) || i < 0 || i >= cur.length) return null;
      cur = cur[i];
    } else {
      if (!Object.prototype.hasOwnProperty.call(cur, step)) return null;
      cur = (cur as Record<string, unknown>)[step];
    }
  }
  return cur ?? null;
}

/** A list as is, null/undefined as [], anything else wrapped. */
export function items(v: unknown): unknown[] {
  if (v === null || v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

const WORLD_WORDS = new Set(['*', 'internet', 'any', '0.0.0.0']);

/** True for a source or destination open to the internet (see CEL_FUNCTIONS). */
export function worldCidr(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const s = v.trim().toLowerCase();
  if (WORLD_WORDS.has(s)) return true;
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const ip = s.slice(0, slash);
  const bits = Number(s.slice(slash + 1));
  if (!Number.isInteger(bits)) return false;
  const family = isIP(ip);
  if (family === 4) {
    if (bits > 8) return false;
    // 10.0.0.0/8 is private; every other range this wide holds public addresses
    return !(bits === 8 && ip.startsWith('10.'));
  }
  if (family === 6) {
    if (bits > 16) return false;
    const first = parseInt(ip.split(':')[0] || '0', 16);
    // fc00::/7 (unique local) and fe80::/10 (link local) are not the internet
    return !((first & 0xfe00) === 0xfc00 && bits >= 7) && !((first & 0xffc0) === 0xfe80 && bits >= 10);
  }
  return false;
}

/** True for a protocol value meaning "every protocol". */
export function allProtocols(v: unknown): boolean {
  if (v === -1 || v === '-1') return true;
  return typeof v === 'string' && ['all', '*', 'any'].includes(v.trim().toLowerCase());
}

function portNumber(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?[0-9]+$/.test(v.trim())) return Number(v);
  return null;
}

/** True when a rule (`protocol`, port range) reaches TCP `port`. */
export function exposes(protocol: unknown, from: unknown, to: unknown, port: number): boolean {
  if (allProtocols(protocol)) return true;
  const p = typeof protocol === 'string' ? protocol.trim().toLowerCase() : protocol;
  if (!(p === 'tcp' || p === '6' || p === 6)) return false;
  const a = portNumber(from);
  const b = portNumber(to);
  if (a === null && b === null) return true;
  // AWS writes "all ports" of a protocol as 0-0 or -1
  if ((a === 0 || a === -1) && (b === 0 || b === -1 || b === 65535)) return true;
  return (a ?? 0) <= port && port <= (b ?? a ?? 65535);
}

/** True when a port spec (`22`, `20-30`, `*`) includes `port`. */
export function portSpecCovers(spec: unknown, port: number): boolean {
  if (typeof spec === 'number') return spec === port;
  if (typeof spec !== 'string') return false;
  const s = spec.trim().toLowerCase();
  if (s === '*' || s === 'any') return true;
  const m = /^([0-9]{1,5})(?:\s*-\s*([0-9]{1,5}))?$/.exec(s);
  if (!m) return false;
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  return a <= port && port <= b;
}

/** A normalized IAM statement. */
interface Statement {
  effect: string;
  actions: string[];
  not_actions: string[];
  resources: string[];
  not_resources: string[];
  principals: string[];
  has_condition: boolean;
}

function strings(v: unknown): string[] {
  return items(v).filter((x): x is string => typeof x === 'string');
}

function principals(v: unknown): string[] {
  if (v === '*') return ['*'];
  if (!isJsonObject(v)) return [];
  const out: string[] = [];
  for (const [kind, ids] of Object.entries(v)) for (const id of strings(ids)) out.push(`${kind}:${id}`);
  return out;
}

/** The statements of a JSON policy document (AWS IAM grammar), normalized. A document that is not JSON is an error. */
export function policyStatements(json: unknown): Statement[] {
  if (json === null || json === undefined || json === '') return [];
  const doc = typeof json === 'string' ? parseBoundedJson(json, POLICY_LIMITS, 'policy document') : json;
  if (!isJsonObject(doc)) throw new Error('policy document is not a JSON object');
  return items(doc.Statement).map((s) => {
    if (!isJsonObject(s)) throw new Error('policy statement is not a JSON object');
    return {
      effect: typeof s.Effect === 'string' ? s.Effect : '',
      actions: strings(s.Action),
      not_actions: strings(s.NotAction),
      resources: strings(s.Resource),
      not_resources: strings(s.NotResource),
      principals: principals(s.Principal),
      has_condition: isJsonObject(s.Condition) && Object.keys(s.Condition).length > 0,
    };
  });
}

/**
 * The statements of `aws_iam_policy_document` blocks. Each field is read when a rule reads
 * it, so a statement whose `resources` are known only after apply can still be judged on
 * its principals.
 */
function documentBlockStatements(blocks: unknown): Statement[] {
  return items(blocks).map((b) => {
    const block = b as Record<string, unknown>;
    const lazy = Object.create(null) as Statement;
    const field = <K extends keyof Statement>(key: K, get: () => Statement[K]) => Object.defineProperty(lazy, key, { enumerable: true, get });
    field('effect', () => (typeof block.effect === 'string' && block.effect !== '' ? block.effect : 'Allow'));
    field('actions', () => strings(block.actions));
    field('not_actions', () => strings(block.not_actions));
    field('resources', () => strings(block.resources));
    field('not_resources', () => strings(block.not_resources));
    field('principals', () => {
      const ps: string[] = [];
      for (const p of items(block.principals)) {
        const pb = p as Record<string, unknown>;
        for (const id of strings(pb.identifiers)) ps.push(pb.type === '*' && id === '*' ? '*' : `${String(pb.type)}:${id}`);
      }
      return ps;
    });
    field('has_condition', () => items(block.condition).length > 0);
    return lazy;
  });
}

function documentStatements(view: Record<string, unknown>): Statement[] {
  const values = view.values as Record<string, unknown>;
  try {
    const json = values.json;
    if (typeof json === 'string' && json !== '') return policyStatements(json);
  } catch (err) {
    if (!(err instanceof UnknownValueError)) throw err;
  }
  return documentBlockStatements(values.statement);
}

/** The statements of an AWS IAM-bearing resource (see CEL_FUNCTIONS). */
export function awsPolicyStatements(v: unknown): Statement[] {
  const { resource, view } = resourceOf(v, 'awsPolicyStatements');
  if (resource.type === 'aws_iam_policy_document') return documentStatements(view);
  const values = view.values as Record<string, unknown>;
  const out: Statement[] = [];
  if (resource.type === 'aws_iam_role') {
    for (const p of items(setting(v, 'inline_policy'))) out.push(...policyStatements((p as Record<string, unknown>).policy));
  }
  if (!Object.prototype.hasOwnProperty.call(values, 'policy')) return out;
  try {
    out.push(...policyStatements(values.policy));
  } catch (err) {
    if (!(err instanceof UnknownValueError)) throw err;
    // computed by the provider, not set by the configuration: no policy of the user's
    if (resource.config && !setByConfig(configAt(resource, 'policy'))) return out;
    // `policy = data.aws_iam_policy_document.x.json`, read at apply: judge the document's blocks
    const docs = referencedDocuments(resource, v);
    if (docs.length === 0) throw err;
    for (const d of docs) out.push(...documentStatements(d));
  }
  return out;
}

function referencedDocuments(resource: PlanResource, v: unknown): Record<string, unknown>[] {
  const policyExpr = resource.config?.policy;
  const refs = isJsonObject(policyExpr) && Array.isArray(policyExpr.references) ? policyExpr.references : [];
  const names = new Set<string>();
  for (const ref of refs) {
    const t = typeof ref === 'string' ? parseReference(ref) : null;
    if (t && t.mode === 'data' && t.type === 'aws_iam_policy_document') names.add(t.name);
  }
  const owner = ownerOf(v)!;
  return owner.factory.graph
    .related(resource, 'aws_iam_policy_document')
    .filter((d) => names.has(d.name))
    .map((d) => owner.factory.view(d));
}

/** Paths of attribute values holding a credential and not marked sensitive. */
export function plainSecrets(v: unknown): string[] {
  const { resource } = resourceOf(v, 'plainSecrets');
  const out: string[] = [];
  // the raw `after`: values known only after apply are null there, and come from elsewhere
  const stack: [JsonValue, JsonValue | undefined, string, string][] = [[resource.after ?? {}, resource.afterSensitive ?? undefined, '', '']];
  while (stack.length > 0) {
    const [value, sensitive, path, key] = stack.pop()!;
    if (sensitive === true) continue;
    if (typeof value === 'string') {
      // with its name, so `AWS_SECRET_ACCESS_KEY = "..."` is recognized like in a file
      if (findSecrets(key === '' ? value : `${key}=${value}`).length > 0) out.push(path);
    } else if (Array.isArray(value)) {
      value.forEach((x, i) => stack.push([x, Array.isArray(sensitive) ? sensitive[i] : undefined, `${path}[${i}]`, '']));
    } else if (isJsonObject(value)) {
      for (const [k, x] of Object.entries(value)) stack.push([x, isJsonObject(sensitive) ? sensitive[k] : undefined, path === '' ? k : `${path}.${k}`, k]);
    }
  }
  return out.sort();
}

/** Paths of credential-named arguments set to a literal in the configuration. */
export function hardcodedSecrets(v: unknown): string[] {
  const { resource } = resourceOf(v, 'hardcodedSecrets');
  const out: string[] = [];
  const stack: [JsonValue, string][] = [[resource.config ?? {}, '']];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (Array.isArray(node)) node.forEach((x, i) => stack.push([x, `${path}[${i}]`]));
    else if (isJsonObject(node)) {
      for (const [k, x] of Object.entries(node)) {
        const p = path === '' ? k : `${path}.${k}`;
        if (isJsonObject(x) && 'constant_value' in x && !('references' in x)) {
          const c = x.constant_value;
          if (isSecretName(k) && typeof c === 'string' && c.trim() !== '') out.push(p);
          // a literal map (environment variables, app settings) of credential-named keys
          else if (isJsonObject(c)) for (const [ck, cv] of Object.entries(c)) if (isSecretName(ck) && typeof cv === 'string' && cv.trim() !== '') out.push(`${p}.${ck}`);
        } else stack.push([x, p]);
      }
    }
  }
  return out.sort();
}

function taggedTraining(r: PlanResource): boolean {
  const values = r.after ?? r.before ?? {};
  for (const key of ['tags', 'tags_all', 'labels']) {
    const t = values[key];
    if (isJsonObject(t) && typeof t['coffer-network'] === 'string' && t['coffer-network'].toLowerCase() === 'training') return true;
  }
  return strings(values.target_tags).includes('coffer-training');
}

/** True for a network control that guards an ML workload (see CEL_FUNCTIONS). */
export function mlNetwork(v: unknown): boolean {
  const { resource } = resourceOf(v, 'mlNetwork');
  const graph = ownerOf(v)!.factory.graph;
  const seen = new Set<PlanResource>([resource]);
  let frontier = [resource];
  for (let hop = 0; hop < 5 && frontier.length > 0; hop++) {
    const next: PlanResource[] = [];
    for (const r of frontier) {
      if (taggedTraining(r)) return true;
      for (const o of graph.related(r)) {
        if (seen.has(o)) continue;
        seen.add(o);
        if (ML_WORKLOAD_TYPES.includes(o.type)) return true;
        if (NETWORK_TYPES.has(o.type)) next.push(o);
      }
    }
    frontier = next;
  }
  return false;
}

/** The configuration expression (or block) at a dotted path, `undefined` when the configuration does not set it. */
function configAt(resource: PlanResource, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = resource.config ?? undefined;
  for (const step of path.split('.')) {
    if (cur === undefined || cur === null) return undefined;
    if (Array.isArray(cur)) {
      const i = Number(step);
      cur = Number.isInteger(i) ? cur[i] : undefined;
    } else if (isJsonObject(cur)) {
      // an expression (not a block) ends the walk: its value is set as a whole
      if ('constant_value' in cur || 'references' in cur) return cur;
      cur = Object.prototype.hasOwnProperty.call(cur, step) ? cur[step] : undefined;
    } else return undefined;
  }
  return cur;
}

function setByConfig(expr: JsonValue | undefined): boolean {
  if (expr === undefined || expr === null) return false;
  if (isJsonObject(expr) && 'constant_value' in expr && !('references' in expr)) return expr.constant_value !== null;
  return true;
}

/** The value at a path of `resource.values` (see CEL_FUNCTIONS). */
export function setting(v: unknown, path: string): unknown {
  const { resource, view } = resourceOf(v, 'setting');
  try {
    return attr(view.values, path);
  } catch (err) {
    if (!(err instanceof UnknownValueError) || !resource.config || setByConfig(configAt(resource, path))) throw err;
    return null;
  }
}

/** True when the argument at `path` is set (see CEL_FUNCTIONS). */
export function isSet(v: unknown, path: string): boolean {
  const { resource } = resourceOf(v, 'isSet');
  if (resource.config && setByConfig(configAt(resource, path))) return true;
  const value = setting(v, path);
  if (value === null || value === undefined || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/** A traffic rule, normalized across providers. */
export interface NetRule {
  direction: 'ingress' | 'egress';
  action: 'allow' | 'deny';
  protocol: string;
  ports: string[];
  peers: string[];
}

function protocolOf(v: unknown): string {
  if (allProtocols(v)) return 'all';
  return typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim().toLowerCase() : '';
}

function awsPorts(protocol: string, from: unknown, to: unknown): string[] {
  const a = portNumber(from);
  const b = portNumber(to);
  if (protocol === 'all' || (a === null && b === null)) return ['*'];
  if ((a === 0 || a === -1) && (b === 0 || b === -1 || b === 65535)) return ['*'];
  return [`${a ?? b}-${b ?? a}`];
}

/**
 * An object whose fields are computed when read (once). Rule fields are lazy so that a
 * value known only after apply in one field or one rule stays there: CEL can still
 * decide on the other rules (`exists` absorbs the unknown when another rule matches).
 */
function lazy<T extends object>(fields: { [K in keyof T]: () => T[K] }): T {
  const out = Object.create(null) as T;
  for (const key of Object.keys(fields) as (keyof T)[]) {
    let done = false;
    let value: T[keyof T];
    Object.defineProperty(out, key, {
      enumerable: true,
      get() {
        if (!done) {
          value = fields[key]();
          done = true;
        }
        return value;
      },
    });
  }
  return out;
}

function awsRule(direction: () => NetRule['direction'], field: (name: string) => unknown, cidrKeys: string[], protocolKey: string): NetRule {
  return lazy<NetRule>({
    direction,
    action: () => 'allow',
    protocol: () => protocolOf(field(protocolKey)),
    ports: () => awsPorts(protocolOf(field(protocolKey)), field('from_port'), field('to_port')),
    peers: () => cidrKeys.flatMap((k) => strings(field(k))),
  });
}

/** A string value lowercased, '' for anything else. */
function lowerString(v: unknown): string {
  return typeof v === 'string' ? v.trim().toLowerCase() : '';
}

/** The non-empty strings of a value (inline NSG rules write unused single fields as ""). */
function present(v: unknown): string[] {
  return strings(v).filter((x) => x.trim() !== '');
}

function azureRule(field: (name: string) => unknown): NetRule {
  const inbound = () => lowerString(field('direction')) === 'inbound';
  return lazy<NetRule>({
    direction: () => (inbound() ? 'ingress' : 'egress'),
    action: () => (lowerString(field('access')) === 'allow' ? 'allow' : 'deny'),
    protocol: () => protocolOf(field('protocol')),
    ports: () => {
      const out = [...present(field('destination_port_range')), ...present(field('destination_port_ranges'))];
      return out.length === 0 ? ['*'] : out;
    },
    peers: () =>
      inbound()
        ? [...present(field('source_address_prefix')), ...present(field('source_address_prefixes'))]
        : [...present(field('destination_address_prefix')), ...present(field('destination_address_prefixes'))],
  });
}

/** Field reader of the `i`th element of a list of blocks (the element is read only when a field is). */
function blockField(list: unknown[], i: number): (name: string) => unknown {
  return (name) => {
    const b = list[i];
    return b !== null && typeof b === 'object' ? (b as Record<string, unknown>)[name] : null;
  };
}

/** The traffic rules of a network control (see CEL_FUNCTIONS). */
export function networkRules(v: unknown): NetRule[] {
  const { resource } = resourceOf(v, 'networkRules');
  const get = (name: string) => setting(v, name);
  switch (resource.type) {
    case 'aws_security_group':
    case 'aws_default_security_group': {
      const out: NetRule[] = [];
      for (const direction of ['ingress', 'egress'] as const) {
        const blocks = items(get(direction));
        for (let i = 0; i < blocks.length; i++) out.push(awsRule(() => direction, blockField(blocks, i), ['cidr_blocks', 'ipv6_cidr_blocks'], 'protocol'));
      }
      return out;
    }
    case 'aws_security_group_rule':
      return [awsRule(() => (get('type') === 'egress' ? 'egress' : 'ingress'), get, ['cidr_blocks', 'ipv6_cidr_blocks'], 'protocol')];
    case 'aws_vpc_security_group_ingress_rule':
    case 'aws_vpc_security_group_egress_rule': {
      const direction = resource.type.endsWith('ingress_rule') ? 'ingress' : 'egress';
      return [awsRule(() => direction, get, ['cidr_ipv4', 'cidr_ipv6'], 'ip_protocol')];
    }
    case 'google_compute_firewall': {
      if (get('disabled') === true) return [];
      const egress = () => lowerString(get('direction')) === 'egress';
      const peers = () => {
        const ranges = strings(get(egress() ? 'destination_ranges' : 'source_ranges'));
        // with no source at all, an ingress rule applies to every source (0.0.0.0/0); an egress rule's default destination is everywhere
        if (ranges.length === 0 && (egress() || (strings(get('source_tags')).length === 0 && strings(get('source_service_accounts')).length === 0))) return ['0.0.0.0/0'];
        return ranges;
      };
      const rules: NetRule[] = [];
      for (const action of ['allow', 'deny'] as const) {
        const blocks = items(get(action));
        for (let i = 0; i < blocks.length; i++) {
          const field = blockField(blocks, i);
          rules.push(
            lazy<NetRule>({
              direction: () => (egress() ? 'egress' : 'ingress'),
              action: () => action,
              protocol: () => protocolOf(field('protocol')),
              ports: () => {
                const ports = strings(field('ports'));
                return ports.length === 0 ? ['*'] : ports;
              },
              peers,
            }),
          );
        }
      }
      return rules;
    }
    case 'azurerm_network_security_group': {
      const blocks = items(get('security_rule'));
      return blocks.map((_b, i) => azureRule(blockField(blocks, i)));
    }
    case 'azurerm_network_security_rule':
      return [azureRule(get)];
    default:
      return [];
  }
}

const TCP = new Set(['tcp', '6']);

/** True when a normalized rule lets TCP traffic reach `port`. */
export function reaches(r: NetRule, port: number): boolean {
  if (r.protocol !== 'all' && !TCP.has(r.protocol)) return false;
  return r.ports.some((s) => portSpecCovers(s, port));
}

/** True when a normalized rule opens every port (of every protocol, or of TCP or UDP). */
export function reachesAllPorts(r: NetRule): boolean {
  if (r.protocol !== 'all' && !['tcp', '6', 'udp', '17'].includes(r.protocol)) return false;
  return r.ports.some((s) => portSpecCovers(s, 1) && portSpecCovers(s, 65535));
}

/** The IAM bindings of a Google IAM resource (see CEL_FUNCTIONS). */
export function gcpBindings(v: unknown): { role: string; members: string[] }[] {
  const { resource } = resourceOf(v, 'gcpBindings');
  const role = (x: unknown) => (typeof x === 'string' ? x : '');
  if (resource.type.endsWith('_iam_member')) return [{ role: role(setting(v, 'role')), members: strings(setting(v, 'member')) }];
  if (resource.type.endsWith('_iam_binding')) return [{ role: role(setting(v, 'role')), members: strings(setting(v, 'members')) }];
  if (resource.type.endsWith('_iam_policy')) {
    const data = setting(v, 'policy_data');
    if (typeof data !== 'string' || data === '') return [];
    const doc = parseBoundedJson(data, POLICY_LIMITS, 'policy document');
    if (!isJsonObject(doc)) throw new Error('policy_data is not a JSON object');
    return items(doc.bindings).map((b) => {
      if (!isJsonObject(b)) throw new Error('policy binding is not a JSON object');
      return { role: role(b.role), members: strings(b.members) };
    });
  }
  return [];
}

/** A duration like `7776000s` (or a number of seconds) in seconds; -1 when it is not one. */
export function seconds(v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v);
  if (typeof v !== 'string') return -1;
  const m = /^([0-9]{1,12})(?:\.[0-9]+)?s?$/.exec(v.trim());
  return m ? Number(m[1]) : -1;
}
