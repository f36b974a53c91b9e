/**
 * Helpers for integration and end-to-end tests: locate the repo and the CLI (from src
 * under tsx or from dist when compiled), run the CLI and the server as subprocesses,
 * start a server in-process on 127.0.0.1:0, read the audit export, poll for a state,
 * speak raw HTTP over a socket (and sign raw S3 requests), inspect data-dir files and
 * the blobs the metadata points to, mount a small tmpfs, replay seeded randomness.
 */
export { RUNNING_COMPILED, cleanEnv, cliArgs, repoRoot } from './paths.js';
export { runCli, type CliRun } from './cli-process.js';
export { startServerProcess, type ServerProcess } from './server-process.js';
export { bootstrapAdmin, startInProcess, type ConfigFlags, type InProcessServer } from './in-process-server.js';
export { findRecords, parseAuditExport, readText, type ExportedRecord } from './audit-log.js';
export { waitFor } from './wait.js';
export { openRaw, rawExchange, requestHead, statusCodes, type RawConnection, type RawResponse } from './raw-http.js';
export { blobFileOf, listTree, tempFiles } from './files.js';
export { fillDisk, mountTmpfs, remount, unmount } from './tmpfs.js';
export { STREAMING_SIGNED, awsChunkedBody, awsChunkedLength, rawS3Request, s3Query, signS3Request, type S3BodyEncoding, type S3SigningCredentials, type SignedS3Request } from './s3-sign.js';
export { referencedBlobKeys, storedBlobKeys, unreferencedBlobs } from './blob-references.js';
export { seededRandom } from './seeded-random.js';
