import type { CommandRegistrar } from './program.js';
import { policyCommands } from './commands-policy.js';
import { accessCommands } from './commands-access.js';
import { gateCommands } from './commands-gate.js';
import { s3Commands } from './commands-s3.js';
import { identityCommands } from './commands-identity.js';
import { monitorCommands } from './commands-monitor.js';
import { iacCommands } from './commands-iac.js';
import { tokenScanCommands } from './commands-token-scan.js';
import { migrateCommands } from './commands-migrate.js';

/**
 * Commands of feature modules, registered after the core ones. A feature adds its
 * registrar (from its own `commands-<feature>.ts`) to this list.
 */
export const FEATURE_COMMANDS: CommandRegistrar[] = [policyCommands, accessCommands, s3Commands, identityCommands, monitorCommands, iacCommands, tokenScanCommands, gateCommands, migrateCommands];
