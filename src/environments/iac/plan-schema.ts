/**
 * JSON Schema of the parts of `terraform show -json` output that the checker reads
 * (plan representation, format 0.x and 1.x; state representation). Unknown properties
 * are allowed, as the format's compatibility promise asks ("ignore any object
 * properties with unrecognized names"); the types of the properties we read are not.
 */
const str = { type: 'string', maxLength: 65536 } as const;
const objectOrNull = { type: ['object', 'null'] } as const;

/** What names a resource, in every representation. */
const identity = {
  address: str,
  mode: { enum: ['managed', 'data'] },
  type: str,
  name: str,
} as const;
const required = ['address', 'mode', 'type', 'name'];

const valuesResource = {
  type: 'object',
  required,
  properties: {
    ...identity,
    index: { type: ['string', 'number'] },
    provider_name: str,
    values: objectOrNull,
    sensitive_values: { type: ['object', 'boolean', 'null'] },
  },
} as const;

const change = {
  type: 'object',
  required: ['actions'],
  properties: {
    actions: {
      type: 'array',
      minItems: 1,
      maxItems: 2,
      items: { enum: ['no-op', 'create', 'read', 'update', 'delete', 'forget'] },
    },
    before: objectOrNull,
    after: objectOrNull,
    after_unknown: { type: ['object', 'boolean', 'null'] },
    before_sensitive: { type: ['object', 'boolean', 'null'] },
    after_sensitive: { type: ['object', 'boolean', 'null'] },
  },
} as const;

const configResource = {
  type: 'object',
  required,
  properties: {
    ...identity,
    expressions: { type: 'object' },
  },
} as const;

/** The schema, compiled once by parse-plan.ts. */
export const PLAN_SCHEMA = {
  type: 'object',
  required: ['format_version'],
  properties: {
    format_version: { type: 'string', pattern: '^[0-9]{1,4}\\.[0-9]{1,4}$' },
    terraform_version: str,
    resource_changes: { type: 'array', items: { $ref: '#/definitions/resourceChange' } },
    planned_values: { $ref: '#/definitions/values' },
    prior_state: { type: 'object', properties: { values: { $ref: '#/definitions/values' } } },
    values: { $ref: '#/definitions/values' },
    configuration: { type: 'object', properties: { root_module: { $ref: '#/definitions/configModule' } } },
  },
  definitions: {
    resourceChange: {
      type: 'object',
      required: [...required, 'change'],
      properties: {
        ...identity,
        module_address: str,
        index: { type: ['string', 'number'] },
        provider_name: str,
        deposed: str,
        change,
      },
    },
    values: {
      type: 'object',
      properties: { root_module: { $ref: '#/definitions/valuesModule' } },
    },
    valuesModule: {
      type: 'object',
      properties: {
        address: str,
        resources: { type: 'array', items: valuesResource },
        child_modules: { type: 'array', items: { $ref: '#/definitions/valuesModule' } },
      },
    },
    configModule: {
      type: 'object',
      properties: {
        resources: { type: 'array', items: configResource },
        module_calls: {
          type: 'object',
          additionalProperties: { type: 'object', properties: { module: { $ref: '#/definitions/configModule' } } },
        },
      },
    },
  },
} as const;
