//! Enqueue + dedupe throughput of both store backends: durable `enqueue`s (each one committed /
//! flushed before it returns) where one in five is a redelivery that the store must answer with
//! `Duplicate`. Distinct PRs, so coalescing does no extra work. Plain `main` (no criterion):
//! `cargo bench --bench store [-- OPS]`.
//!
//! PostgreSQL comes from `THOTH_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); a scratch database is created and dropped.
//! Set `THOTH_SKIP_POSTGRES=1` to bench sled only.

use anyhow::{Context, Result};
use chrono::Utc;
use sqlx::Connection;
use std::sync::Arc;
use std::time::Instant;
use thoth_bot::ids::{DeliveryId, Platform, PrNumber};
use thoth_bot::store::{self, EnqueueOutcome, JobKind, NewJob, Store};

/// One in this many deliveries is a redelivery of an earlier one.
const DUPLICATE_EVERY: u64 = 5;

#[derive(Default)]
struct Tally {
    enqueued: u64,
    duplicates: u64,
}

/// Runs `ops` intake steps spread over `tasks` concurrent tasks; returns ops/s.
async fn run(store: Arc<dyn Store>, ops: u64, tasks: u64) -> Result<(f64, Tally)> {
    let start = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let store = store.clone();
        handles.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            for i in (t..ops).step_by(tasks as usize) {
                // Every DUPLICATE_EVERY-th op repeats the delivery of the op before it.
                let n = if i % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 {
                    i - 1
                } else {
                    i
                };
                let delivery: DeliveryId = format!("bench-{n}").parse()?;
                let job = NewJob {
                    platform: Platform::GitHub,
                    repo: "octo/bench".parse()?,
                    pr: PrNumber(n),
                    head_sha: format!("{n:040x}").parse()?,
                    kind: JobKind::Evaluate,
                    delivery,
                    payload: serde_json::json!({"action": "synchronize", "number": n}),
                };
                match store.enqueue(job, Utc::now()).await? {
                    EnqueueOutcome::Enqueued(_) => tally.enqueued += 1,
                    EnqueueOutcome::Duplicate => tally.duplicates += 1,
                }
            }
            anyhow::Ok(tally)
        }));
    }
    let mut total = Tally::default();
    for handle in handles {
        let tally = handle.await.context("bench task")??;
        total.enqueued += tally.enqueued;
        total.duplicates += tally.duplicates;
    }
    Ok((ops as f64 / start.elapsed().as_secs_f64(), total))
}

fn report(backend: &str, tasks: u64, ops: u64, (rate, tally): (f64, Tally)) {
    println!(
        "{backend:<9} tasks={tasks:<2} ops={ops:<6} enqueued={:<6} duplicates={:<5} {rate:>9.0} ops/s",
        tally.enqueued, tally.duplicates
    );
}

fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    match query {
        Some(q) => format!("{}/{db}?{q}", &base[..host_end]),
        None => format!("{}/{db}", &base[..host_end]),
    }
}

async fn bench_postgres(ops: u64) -> Result<()> {
    let admin_url = std::env::var("THOTH_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    for tasks in [1, 8] {
        let name = format!("thoth_bench_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .with_context(|| format!("connect to {admin_url}"))?;
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let result = async {
            let store = store::open(&with_database(&admin_url, &name)).await?;
            run(store, ops, tasks).await
        }
        .await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
        report("postgres", tasks, ops, result?);
    }
    Ok(())
}

async fn bench_sled(ops: u64) -> Result<()> {
    for tasks in [1, 8] {
        let dir = tempfile::tempdir()?;
        let store = store::open(&format!("sled:{}", dir.path().join("db").display())).await?;
        report("sled", tasks, ops, run(store, ops, tasks).await?);
    }
    Ok(())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    // `cargo bench` passes `--bench`; the first number, if any, is the op count.
    let ops = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5_000u64);
    println!("durable enqueue + dedupe, 1 in {DUPLICATE_EVERY} a redelivery");
    bench_sled(ops).await?;
    if std::env::var("THOTH_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
        println!("!!!!!!!! THOTH_SKIP_POSTGRES=1: PostgreSQL bench SKIPPED !!!!!!!!");
    } else {
        bench_postgres(ops).await?;
    }
    Ok(())
}
