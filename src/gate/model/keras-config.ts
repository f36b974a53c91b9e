/**
 * Keras model configs (`config.json` of a .keras file, the `model_config` attribute of an
 * .h5 file) can carry code: a `Lambda` layer holds marshalled Python bytecode (or a
 * function reference), and Keras 3 imports the `module` an object names (CVE-2025-1550
 * runs `builtins` functions through it even in safe mode). Judged here: every object with
 * a `class_name` of `Lambda` (or Keras 3's `__lambda__`) is a finding, and every `module`
 * outside Keras' own packages is a finding (allowlist, as for pickles).
 */
import type { ScopedFindings } from '../core/findings.js';
import type { FindingLocation } from '../core/verdict.js';

const KERAS_MODULES = /^(keras|tf_keras|keras_hub|keras_nlp|keras_cv|tensorflow\.keras|tensorflow\.python\.keras)(\.|$)/;
const LAMBDA_CLASSES = new Set(['Lambda', '__lambda__']);
/** Values visited at most (a config has a few per layer). */
const MAX_VISITS = 5_000_000;

/** Judges a parsed Keras config; `where` is the location given to findings. Iterative: any depth. */
export function judgeKerasConfig(config: unknown, findings: ScopedFindings, where: FindingLocation): void {
  const stack: [unknown, string][] = [[config, '$']];
  let visits = 0;
  while (stack.length > 0) {
    if (++visits > MAX_VISITS) {
      findings.add('scan-limit', where, 'keras config too large');
      return;
    }
    const [v, path] = stack.pop()!;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    const o = v as Record<string, unknown>;
    if (typeof o.class_name === 'string' && LAMBDA_CLASSES.has(o.class_name)) findings.add('keras-lambda-layer', { ...where, field: path }, `class ${o.class_name}`);
    if (typeof o.module === 'string' && o.module !== '' && !KERAS_MODULES.test(o.module)) {
      findings.add('keras-custom-module', { ...where, field: path }, `module ${o.module}`);
    }
    for (const [k, child] of Object.entries(o)) if (typeof child === 'object' && child !== null) stack.push([child, `${path}.${k}`]);
  }
}

/** Parses `text` as a Keras config and judges it; a config that is not JSON is a finding. */
export function judgeKerasConfigText(text: string, findings: ScopedFindings, where: FindingLocation): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    findings.add('keras-config-malformed', where, 'config is not JSON');
    return;
  }
  judgeKerasConfig(parsed, findings, where);
}
