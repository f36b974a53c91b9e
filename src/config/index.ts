/** Configuration: one schema with defaults; file < environment < flags; frozen. */
export { loadConfig, CONFIG_KEYS } from './config.js';
export type { Config, ConfigSources } from './config.js';
