import type { CommandRegistrar } from './program.js';

/**
 * Commands of feature modules, registered after the core ones. A feature adds its
 * registrar (from its own `commands-<feature>.ts`) to this list.
 */
export const FEATURE_COMMANDS: CommandRegistrar[] = [];
