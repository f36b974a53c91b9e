import { CompiledEngine } from './compiled-engine.js';
import { policyEngineContract } from '../../test/fixtures/policy/engine-contract.js';

policyEngineContract('CompiledEngine', (options) => new CompiledEngine(options));
