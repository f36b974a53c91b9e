import { it } from 'node:test';
import assert from 'node:assert/strict';
import { diffPolicySets, lineDiff } from './policy-diff.js';

void it('diffs policy sets by id: added, removed, changed (with a line diff), unchanged', () => {
  const before = [{ name: 'a.cedar', text: '@id("keep")\npermit (principal, action, resource);\n\n@id("gone")\nforbid (principal, action, resource);\n@id("edit")\nforbid (principal, action, resource)\nwhen { context.localHour < 8 };\n' }];
  const after = [
    { name: 'b.cedar', text: '@id("edit")\nforbid (principal, action, resource)\nwhen { context.localHour < 7 };\n' },
    { name: 'c.cedar', text: '@id("new")\npermit (principal, action, resource);   \n\n@id("keep")\npermit (principal, action, resource);\n' },
  ];
  const d = diffPolicySets(before, after);
  assert.deepEqual(d.added.map((p) => [p.id, p.at]), [['new', 'c.cedar:1:1']]);
  assert.deepEqual(d.removed.map((p) => [p.id, p.at]), [['gone', 'a.cedar:4:1']]);
  assert.deepEqual(d.unchanged, ['keep']);
  assert.equal(d.changed.length, 1);
  assert.deepEqual(d.changed[0]!.lines, [' @id("edit")', ' forbid (principal, action, resource)', '-when { context.localHour < 8 };', '+when { context.localHour < 7 };']);
});

void it('refuses a side that does not parse, with its position', () => {
  assert.throws(() => diffPolicySets([], [{ name: 'x.cedar', text: '@id("x")\npermit (principal, action, resource) when {' }]), /x\.cedar:2:/);
});

void it('computes a minimal line diff', () => {
  assert.deepEqual(lineDiff(['a', 'b', 'c'], ['a', 'c', 'd']), [' a', '-b', ' c', '+d']);
  assert.deepEqual(lineDiff([], ['x']), ['+x']);
});
