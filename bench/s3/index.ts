/**
 * bench/s3: the S3 endpoint benchmark (JS SDK through Coffer's S3 endpoint vs Coffer's
 * REST API and vs s3rver). `runS3Bench()` is called by the harness; `node --import tsx
 * bench/s3/run.ts` runs it alone.
 */
export { runS3Bench, type S3BenchRow } from './s3-bench.js';
