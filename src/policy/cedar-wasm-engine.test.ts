import { CedarWasmEngine } from './cedar-wasm-engine.js';
import { policyEngineContract } from '../../test/fixtures/policy/engine-contract.js';

policyEngineContract('CedarWasmEngine', (options) => new CedarWasmEngine(options));
