/** The actor of automatic review decisions in the audit log; the monitor never analyses `system` actors. */
export const REVIEW_ACTOR = { id: 'system:review', name: 'coffer-review', kind: 'system' } as const;
