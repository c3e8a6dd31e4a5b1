// graphile.js N MODE OUT [PROCS] - the no-op burn-down by graphile-worker,
// the peer memedroid's queue is measured against (tests/bench/run.sh runs
// it when Node.js is present).  N jobs are added with
// graphile_worker.add_jobs, then PROCS worker processes (default 1), each
// with concurrency 4, run them; the jobs/s figure is written to OUT.  MODE
// is "plain" or "batched" (local queue of 500 and batched completions,
// graphile-worker 0.17's batching options).
//
// The clock starts once every process has loaded graphile-worker (Node.js's
// start is not counted) and stops when the processes together have run N
// jobs: each reports its count every few milliseconds.  Its logger says
// nothing, as md-work -q writes no line per job.
"use strict";
const fs = require("fs");
const { fork } = require("child_process");
const { run, makeWorkerUtils, Logger } = require("graphile-worker");

const connectionString = process.env.GW_DB;
// no line per job, as md-work -q writes none
const quiet = new Logger(() => () => {});

// A worker process: waits for "go", runs jobs, reports its count.
function worker(mode) {
  let done = 0;
  let said = 0;
  let runner;
  const preset = mode === "batched"
    ? { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } }
    : {};
  const tell = setInterval(() => {
    if (done !== said) {
      said = done;
      process.send(done);
    }
  }, 2);
  process.on("message", async (m) => {
    if (m === "go") {
      runner = await run({
        connectionString,
        concurrency: 4,
        noHandleSignals: true,
        pollInterval: 1000,
        logger: quiet,
        taskList: { noop: async () => { done++; } },
        preset,
      });
    } else if (m === "stop") {
      clearInterval(tell);
      await runner.stop();
      process.exit(0);
    }
  });
  process.send("ready");
}

async function main() {
  const N = Number(process.argv[2]);
  const mode = process.argv[3];
  const out = process.argv[4];
  const procs = Number(process.argv[5] || 1);
  const utils = await makeWorkerUtils({ connectionString });
  await utils.migrate();
  await utils.withPgClient((c) => c.query(
    "select graphile_worker.add_jobs(array(select ('noop', '{}'::json, null, null, " +
    "null, null, null, null)::graphile_worker.job_spec from generate_series(1, $1)))", [N]));
  await utils.release();

  const kids = [];
  const counts = new Array(procs).fill(0);
  let ready = 0;
  let t0;
  let finish;
  const finished = new Promise((r) => { finish = r; });
  for (let i = 0; i < procs; i++) {
    const k = fork(__filename, ["worker", mode]);
    k.on("message", (m) => {
      if (m === "ready") {
        if (++ready === procs) {
          t0 = process.hrtime.bigint();
          for (const c of kids) c.send("go");
        }
        return;
      }
      counts[i] = m;
      if (counts.reduce((a, b) => a + b, 0) >= N) finish(process.hrtime.bigint());
    });
    k.on("exit", (code) => { if (code) { console.error("worker exited " + code); process.exit(1); } });
    kids.push(k);
  }
  const t1 = await finished;
  await Promise.all(kids.map((k) => new Promise((r) => { k.on("exit", r); k.send("stop"); })));
  fs.writeFileSync(out, String(Math.round(N / (Number(t1 - t0) / 1e9))));
}

if (process.argv[2] === "worker") {
  worker(process.argv[3]);
} else {
  main().catch((e) => { console.error(e); process.exit(1); });
}
