// graphile.js N MODE OUT - the no-op burn-down by graphile-worker, the peer
// memedroid's queue is measured against (tests/bench/run.sh runs it when
// Node.js is present).  N jobs are added with graphile_worker.add_jobs, then
// one worker process with concurrency 4 runs them; the jobs/s figure is
// written to OUT.  MODE is "plain" or "batched" (local queue of 500 and
// batched completions, graphile-worker 0.17's batching options).
"use strict";
const fs = require("fs");
const { run, makeWorkerUtils } = require("graphile-worker");

const N = Number(process.argv[2]);
const mode = process.argv[3];
const out = process.argv[4];
const connectionString = process.env.GW_DB;

async function main() {
  const utils = await makeWorkerUtils({ connectionString });
  await utils.migrate();
  await utils.withPgClient((c) => c.query(
    "select graphile_worker.add_jobs(array(select ('noop', '{}'::json, null, null, " +
    "null, null, null, null)::graphile_worker.job_spec from generate_series(1, $1)))", [N]));
  await utils.release();

  let done = 0;
  let finish;
  const finished = new Promise((r) => { finish = r; });
  const preset = mode === "batched"
    ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } }
    : {};
  const t0 = process.hrtime.bigint();
  const runner = await run({
    connectionString,
    concurrency: 4,
    noHandleSignals: true,
    pollInterval: 1000,
    taskList: { noop: async () => { if (++done === N) finish(); } },
    preset,
  });
  await finished;
  const t1 = process.hrtime.bigint();
  await runner.stop();
  fs.writeFileSync(out, String(Math.round(N / (Number(t1 - t0) / 1e9))));
}

main().catch((e) => { console.error(e); process.exit(1); });
