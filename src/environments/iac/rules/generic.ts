import type { RuleSpec } from '../rule-spec.js';

/** Built-in rules for every provider. */
export const GENERIC_RULES: RuleSpec[] = [
  {
    id: 'iac-secret-in-plain-attribute',
    severity: 'critical',
    title: 'No credential sits in a plain (non-sensitive) attribute',
    message: 'an attribute holds a credential (cloud key, private key, token) in clear text: it ends up in the plan, the state and CI logs',
    category: 'secrets',
    provider: 'any',
    resource_types: ['*'],
    violation: 'plainSecrets(resource).size() > 0',
    detail: 'plainSecrets(resource)',
    remediation: 'revoke the credential, then pass it from a secret manager (aws_secretsmanager_secret_version, google_secret_manager_secret_version, azurerm_key_vault_secret) or a workload identity instead of a literal',
    fixtures: { violates: 'aws/secrets-in-attributes.json', passes: 'aws/secrets-from-variables.json' },
  },
  {
    id: 'iac-hardcoded-credential',
    severity: 'high',
    title: 'Credential arguments are not literals in the code',
    message: 'a credential argument (password, secret, token, key) is set to a literal in the Terraform code',
    category: 'secrets',
    provider: 'any',
    resource_types: ['*'],
    violation: 'hardcodedSecrets(resource).size() > 0',
    detail: 'hardcodedSecrets(resource)',
    remediation: 'take the value from a sensitive variable fed by a secret manager, or let the provider generate it (manage_master_user_password, random_password)',
    fixtures: { violates: 'aws/secrets-in-attributes.json', passes: 'aws/secrets-from-variables.json' },
  },
];
