// Node BullMQ peer for tests/integration/test_node_interop.py.
//   node peer.mjs produce <redisUrl> <queue> <name> <jsonData>      -> prints the new job id
//   node peer.mjs consume <redisUrl> <queue> <count>                -> processes <count> jobs, prints them as JSON lines
//   node peer.mjs result <redisUrl> <queue> <jobId>                 -> prints the job's state and return value
import { Queue, Worker, Job } from 'bullmq';

const [cmd, url, queueName, ...rest] = process.argv.slice(2);
const u = new URL(url);
const connection = { host: u.hostname, port: Number(u.port || 6379), db: Number((u.pathname || '/0').slice(1) || 0), maxRetriesPerRequest: null };

if (cmd === 'produce') {
  const [name, data] = rest;
  const queue = new Queue(queueName, { connection });
  const job = await queue.add(name, JSON.parse(data), { attempts: 2, backoff: { type: 'fixed', delay: 10 } });
  console.log(job.id);
  await queue.close();
} else if (cmd === 'consume') {
  const want = Number(rest[0]);
  let seen = 0;
  const worker = new Worker(queueName, async (job) => {
    console.log(JSON.stringify({ id: job.id, name: job.name, data: job.data, attempts: job.opts.attempts }));
    return { handledBy: 'node', name: job.name };
  }, { connection });
  await new Promise((resolve) => worker.on('completed', () => { if (++seen >= want) resolve(); }));
  await worker.close();
} else if (cmd === 'result') {
  const queue = new Queue(queueName, { connection });
  const job = await Job.fromId(queue, rest[0]);
  const state = job ? await job.getState() : 'missing';
  console.log(JSON.stringify({ state, returnvalue: job ? job.returnvalue : null }));
  await queue.close();
} else {
  console.error(`unknown command ${cmd}`);
  process.exit(2);
}
process.exit(0);
