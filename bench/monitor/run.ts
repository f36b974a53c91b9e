/** Runs the monitor benchmark alone (`node dist/bench/monitor/run.js`) and prints its rows as JSON. */
import { monitorRows, runMonitorBench } from './monitor-bench.js';

const result = runMonitorBench((line) => process.stderr.write(`${line}\n`));
process.stdout.write(JSON.stringify({ rows: monitorRows(result), result }, null, 1) + '\n');
