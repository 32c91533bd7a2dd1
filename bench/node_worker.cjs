// Node BullMQ's worker on a pre-filled queue, for bench/throughput.py: no-op jobs until N completed.
// Usage: node bench/node_worker.cjs BULLMQ_DIR REDIS_URL QUEUE N CONCURRENCY
// Prints one JSON line: {"jobs_per_s": ..., "cpu_ms_per_job": ...}, timed from the first completion to
// the N-th, as the Python runs are.
'use strict';
const [bullmqDir, redisUrl, queue, nArg, concurrencyArg] = process.argv.slice(2);
const { Worker } = require(bullmqDir);
const url = new URL(redisUrl);
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  db: Number((url.pathname || '/0').slice(1) || 0),
  password: url.password ? decodeURIComponent(url.password) : undefined,
  maxRetriesPerRequest: null,
};
const n = Number(nArg);
let done = 0;
let t0 = 0n;
let cpu0 = null;
const worker = new Worker(queue, async () => null, { connection, concurrency: Number(concurrencyArg) });
worker.on('completed', () => {
  done += 1;
  if (done === 1) {
    t0 = process.hrtime.bigint();
    cpu0 = process.cpuUsage();
  }
  if (done !== n) return;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const jobs = n - 1;
  console.log(JSON.stringify({ jobs_per_s: jobs / seconds, cpu_ms_per_job: (cpu.user + cpu.system) / 1000 / jobs }));
  worker.close().then(() => process.exit(0));
});
worker.on('error', (err) => { console.error(String(err)); process.exit(1); });
