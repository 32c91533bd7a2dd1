// Node BullMQ peer for tests/integration/test_node_interop.py.
//   node peer.mjs produce <redisUrl> <queue> <name> <jsonData>      -> prints the new job id
//   node peer.mjs consume <redisUrl> <queue> <count>                -> processes <count> jobs, prints them as JSON lines
//   node peer.mjs result <redisUrl> <queue> <jobId>                 -> prints the job's state and return value
//   node peer.mjs produce-traced <redisUrl> <queue> <name> <jsonData>
//        -> adds the job with telemetry on (bullmq-otel); prints {id, metadata} (opts.telemetry.metadata)
//   node peer.mjs consume-traced <redisUrl> <queue>
//        -> processes one job with telemetry on; prints {id, traceId, parentSpanId} of its process span
import { Queue, Worker, Job } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

// A tracer that records spans in memory, and W3C trace context as the propagation format (the
// OpenTelemetry SDK's default): what a Node service with bullmq-otel set up has.
const spans = new InMemorySpanExporter();
function tracing() {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  trace.setGlobalTracerProvider(provider);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return new BullMQOtel({ tracerName: 'node-peer' });
}

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
} else if (cmd === 'produce-traced') {
  const [name, data] = rest;
  const queue = new Queue(queueName, { connection, telemetry: tracing() });
  const job = await queue.add(name, JSON.parse(data), { attempts: 1 });
  console.log(JSON.stringify({ id: job.id, metadata: job.opts.telemetry?.metadata ?? null }));
  await queue.close();
} else if (cmd === 'consume-traced') {
  const worker = new Worker(queueName, async (job) => ({ handledBy: 'node' }), { connection, telemetry: tracing() });
  const job = await new Promise((resolve) => worker.on('completed', resolve));
  await worker.close();
  const span = spans.getFinishedSpans().find((s) => s.name === `process ${queueName}`);
  console.log(JSON.stringify({ id: job.id, traceId: span?.spanContext().traceId ?? null,
                               parentSpanId: span?.parentSpanContext?.spanId ?? null }));
} else {
  console.error(`unknown command ${cmd}`);
  process.exit(2);
}
process.exit(0);
