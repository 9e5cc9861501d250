//! Open-loop webhook intake load, in Rust: signed GitHub `pull_request` deliveries at a fixed
//! rate to a running `thoth-bot serve`, latency from each delivery's scheduled send time to its
//! 202 (the durable enqueue included), so a server that falls behind shows up as latency.
//!
//! `scripts/load.py` does the same and more (kill -9 and re-send), but at 1,000/s the Python
//! generator takes much of a core and its GIL adds milliseconds of jitter to what it measures;
//! this one costs a few percent of a core.
//!
//! ```sh
//! THOTH_GITHUB_WEBHOOK_SECRETS=load-secret THOTH_WORKERS=2 target/release/thoth-bot serve &
//! cargo bench --bench intake -- --rate 1000 --seconds 10 --prs 1000
//! cargo bench --bench intake -- --rate 1000 -n 5000 --hot-share 1     # one hot PR
//! ```
//!
//! Options: `--url` (default `http://127.0.0.1:8080`), `--rate`, `--seconds` or `-n`, `-c`
//! connections (default 32), `--prs` (default 1000), `--hot-share` (0..1), `--secret` (default
//! `load-secret`), `--warmup` deliveries not counted (default 200).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

const FIXTURE: &str =
    include_str!("../tests/data/fixtures/github/pull_request/synchronize.payload.json");
const HOT_PR: u64 = 1;

struct Args {
    host: String,
    rate: f64,
    total: usize,
    connections: usize,
    prs: u64,
    hot_share: f64,
    secret: String,
    warmup: usize,
}

fn args() -> Args {
    let mut a = Args {
        host: "127.0.0.1:8080".into(),
        rate: 1000.0,
        total: 0,
        connections: 32,
        prs: 1000,
        hot_share: 0.0,
        secret: "load-secret".into(),
        warmup: 200,
    };
    let mut seconds = 10.0;
    let argv: Vec<String> = std::env::args()
        .skip(1)
        .filter(|x| x != "--bench")
        .collect();
    let mut it = argv.iter();
    while let Some(k) = it.next() {
        let mut v = || it.next().cloned().unwrap_or_default();
        match k.as_str() {
            "--url" => {
                let url = v();
                a.host = url
                    .trim_start_matches("http://")
                    .trim_end_matches('/')
                    .to_string();
            }
            "--rate" => a.rate = v().parse().expect("--rate"),
            "--seconds" => seconds = v().parse().expect("--seconds"),
            "-n" => a.total = v().parse().expect("-n"),
            "-c" => a.connections = v().parse().expect("-c"),
            "--prs" => a.prs = v().parse().expect("--prs"),
            "--hot-share" => a.hot_share = v().parse().expect("--hot-share"),
            "--secret" => a.secret = v(),
            "--warmup" => a.warmup = v().parse().expect("--warmup"),
            other => panic!("unknown option {other}"),
        }
    }
    if a.total == 0 {
        a.total = (a.rate * seconds) as usize;
    }
    a
}

/// One request, ready to write: headers and body, signed.
fn delivery(template: &Value, i: usize, a: &Args, salt: u64) -> Vec<u8> {
    let hot_every = if a.hot_share > 0.0 {
        (1.0 / a.hot_share).round() as usize
    } else {
        0
    };
    let number = if hot_every > 0 && i.is_multiple_of(hot_every) {
        HOT_PR
    } else {
        1000 + i as u64 % a.prs.max(1)
    };
    let mut v = template.clone();
    v["number"] = number.into();
    v["pull_request"]["number"] = number.into();
    // Every body has its own head sha: the replay guard refuses a body seen before.
    let sha = hex::encode(&Sha256::digest(format!("{salt}-{i}").as_bytes())[..20]);
    v["pull_request"]["head"]["sha"] = sha.into();
    let body = serde_json::to_vec(&v).expect("json");
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(a.secret.as_bytes()).expect("key");
    mac.update(&body);
    let sig = hex::encode(mac.finalize().into_bytes());
    let mut req = format!(
        "POST /webhooks/github HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
         X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: load-{salt}-{i}\r\n\
         X-Hub-Signature-256: sha256={sig}\r\nUser-Agent: GitHub-Hookshot/load\r\n\
         Content-Length: {}\r\n\r\n",
        a.host,
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    req
}

/// Reads one HTTP/1.1 response and returns its status. Hand-written on purpose: a blocking
/// client on OS threads sleeps to the microsecond, where an async runtime's timer rounds every
/// send to the next millisecond and would add that to each measured latency.
fn read_status(r: &mut BufReader<TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        r.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body)?;
    Ok(status)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

fn main() {
    let a = Arc::new(args());
    let template: Value = serde_json::from_str(FIXTURE).expect("fixture");
    let salt = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let total = a.total + a.warmup;
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..total)
            .map(|i| delivery(&template, i, &a, salt))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let results = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now() + Duration::from_millis(100);
    let threads: Vec<_> = (0..a.connections)
        .map(|_| {
            let (a, requests, next, results, errors) = (
                a.clone(),
                requests.clone(),
                next.clone(),
                results.clone(),
                errors.clone(),
            );
            std::thread::spawn(move || {
                let connect = || {
                    let s = TcpStream::connect(&a.host).expect("connect to the server");
                    s.set_nodelay(true).expect("nodelay");
                    (s.try_clone().expect("clone"), BufReader::new(s))
                };
                let (mut w, mut r) = connect();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= requests.len() {
                        break;
                    }
                    let scheduled = start + Duration::from_secs_f64(i as f64 / a.rate);
                    if let Some(wait) = scheduled.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let outcome = w.write_all(&requests[i]).and_then(|()| read_status(&mut r));
                    let done = Instant::now();
                    match outcome {
                        Ok(202) => results.lock().expect("results").push((i, done - scheduled)),
                        Ok(s) => errors.lock().expect("errors").push(s.to_string()),
                        Err(e) => {
                            errors.lock().expect("errors").push(e.to_string());
                            (w, r) = connect();
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("connection thread");
    }
    let elapsed = start.elapsed();
    let results = results.lock().expect("results");
    let mut lat: Vec<Duration> = results
        .iter()
        .filter(|(i, _)| *i >= a.warmup)
        .map(|(_, d)| *d)
        .collect();
    lat.sort();
    let errors = errors.lock().expect("errors");
    println!(
        "target {}/s, {} deliveries ({} warm-up not counted), {} connections, hot share {}",
        a.rate, a.total, a.warmup, a.connections, a.hot_share
    );
    println!(
        "acked {} of {total}, errors {}{}",
        results.len(),
        errors.len(),
        if errors.is_empty() {
            String::new()
        } else {
            format!(" (first: {:?})", &errors[..errors.len().min(3)])
        }
    );
    println!(
        "latency ms from scheduled send: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        pct(&lat, 0.5),
        pct(&lat, 0.9),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );
    println!(
        "achieved {:.0}/s over {:.2} s",
        results.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64()
    );
}
