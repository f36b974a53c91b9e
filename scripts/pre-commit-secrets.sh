#!/bin/sh
# Git pre-commit hook: refuses a commit whose staged changes add a credential (Coffer
# tokens, AWS/GCP/Azure keys, private keys, GitHub tokens), with `coffer token scan --staged`.
#
# Install in a repository (from its top directory):
#   cp /path/to/coffer/scripts/pre-commit-secrets.sh .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit
# or call it from an existing hook or a pre-commit framework `local` hook.
# COFFER names the CLI (default `coffer`), e.g. COFFER="npx coffer".
# A finding prints the file, line and a redacted prefix, never the secret.
set -u
COFFER="${COFFER:-coffer}"
# shellcheck disable=SC2086 # COFFER may be a command with arguments
$COFFER token scan --staged .
status=$?
case "$status" in
  0) exit 0 ;;
  3)
    echo "pre-commit: the staged changes add credentials (listed above): remove them from the change, rotate them, then commit again" >&2
    exit 1
    ;;
  *)
    echo "pre-commit: \`$COFFER token scan --staged\` failed (exit $status): commit refused" >&2
    exit 1
    ;;
esac
