/** Runs the S3 benchmark alone and prints its rows as JSON. */
import { runS3Bench } from './s3-bench.js';

const rows = await runS3Bench();
process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
