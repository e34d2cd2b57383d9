//! Search benchmark: signpost over HTTP against PostgreSQL full-text search on the same
//! services and the same navigator query mix. See README ("Benchmark").

use anyhow::Context;
use clap::{Parser, ValueEnum};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use signpost::domain::coverage::Coverage;
use signpost::geo::eligibility::rule_token;
use sqlx::Row;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
struct Args {
    /// Directory sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    services: Vec<usize>,
    /// Concurrent clients.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    concurrency: Vec<usize>,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// PostgreSQL to compare with (a database the benchmark may fill).
    #[arg(long, env = "SIGNPOST_BENCH_POSTGRES_URL")]
    postgres_url: String,
    /// Keep each directory's database and index under this folder and reuse them on the
    /// next run (skips the import); a fresh temporary folder when absent.
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
    /// Reference files (GP practices, postcodes) loaded before serving, for the
    /// eligibility queries.
    #[arg(long, default_value = "../shared/data/geo")]
    geo_dir: std::path::PathBuf,
    /// The signpost binary to serve with.
    #[arg(long, default_value = "target/release/signpost")]
    binary: String,
    /// The questions asked: `fixed` repeats 20 navigator questions; `distinct` asks
    /// `--questions` different ones (callers' words pinned in bench/distinct-questions.tsv, with
    /// postcodes, GP practices, ages, delivery modes and "accepting" filters).
    #[arg(long, value_enum, default_value = "fixed")]
    mix: MixKind,
    /// How many distinct questions `--mix distinct` makes.
    #[arg(long, default_value_t = 4000)]
    questions: usize,
    /// Partners' capacity updates a second while searches run (0: none); the same rate
    /// of UPDATEs goes to PostgreSQL while it is measured.
    #[arg(long, default_value_t = 0.0)]
    writes_per_second: f64,
    /// Where signpost keeps its records: sqlite, postgres, or both (its index is a local
    /// folder either way).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "sqlite")]
    backends: Vec<Backend>,
    /// Write the mix's query strings to this file, one a line, and stop.
    #[arg(long)]
    dump_mix: Option<std::path::PathBuf>,
    /// Write the first `--services` count of generated services to this file as NDJSON,
    /// and stop (the source of `bench/pull.sh`).
    #[arg(long)]
    write_services: Option<std::path::PathBuf>,
    /// Leave out the Open Referral feed figures (slow at a million services).
    #[arg(long)]
    no_feed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum MixKind {
    Fixed,
    Distinct,
}

#[derive(Clone, Copy, Debug, PartialEq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
}

/// The administrator key the benchmark's server is started with, for the writes.
const BENCH_ADMIN_KEY: &str = "bench-admin-key-0123456789abcdef";

/// One question of the mix: a query string, and the categories a right answer has
/// (empty when the mix does not say).
#[derive(Clone)]
struct Question {
    query: String,
    expected: Vec<String>,
}

/// Seconds of untimed questions before the measurements (see `main`).
const WARM_UP_SECONDS: u64 = 5;

/// How many questions of the mix are also checked for a right answer in the top 5.
const QUALITY_SAMPLE: usize = 200;

fn fixed_mix() -> Vec<Question> {
    MIX.iter()
        .map(|(q, e)| Question {
            query: q.to_string(),
            expected: vec![e.to_string()],
        })
        .collect()
}

/// The callers' words of the distinct mix: the evaluation sets as they stood when the mix
/// was pinned, so that new evaluation sets do not change what the benchmark measures.
const DISTINCT_QUESTIONS: &str = "bench/distinct-questions.tsv";

/// Thousands of different questions as navigators ask them: the callers' words of
/// [`DISTINCT_QUESTIONS`], about a third with the caller's postcode (Greater Manchester
/// districts), a fifth with their GP practice (the Greater Manchester ICB's), and
/// ages, delivery modes, "taking referrals", self-referral and free filters mixed in.
fn distinct_mix(count: usize, geo_dir: &std::path::Path) -> anyhow::Result<Vec<Question>> {
    let mut said = Vec::new();
    for line in std::fs::read_to_string(DISTINCT_QUESTIONS)
        .with_context(|| format!("reading {DISTINCT_QUESTIONS}"))?
        .lines()
    {
        let mut cols = line.split('\t');
        // Questions over the API's limit would only measure a 400.
        if let (Some(q), Some(cats)) = (cols.next(), cols.next())
            && !q.starts_with('#')
            && !q.trim().is_empty()
            && q.trim().chars().count() <= signpost::search::query::MAX_QUERY_CHARS
        {
            let cats: Vec<String> = cats.split(',').map(|c| c.trim().to_string()).collect();
            said.push((q.trim().to_string(), cats));
        }
    }
    anyhow::ensure!(!said.is_empty(), "no questions in {DISTINCT_QUESTIONS}");
    let gm = |s: &str| {
        let letters: String = s.chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        ["M", "BL", "OL", "SK", "WN"].contains(&letters.as_str())
    };
    let mut outcodes = Vec::new();
    let mut reader = csv::Reader::from_path(geo_dir.join("derived_outcode_centroids_active.csv"))?;
    for row in reader.records() {
        let row = row?;
        if gm(&row[0]) && &row[7] == "0" {
            outcodes.push(row[0].to_string());
        }
    }
    let mut practices = Vec::new();
    let mut reader = csv::Reader::from_path(geo_dir.join("derived_gp_practices_active.csv"))?;
    for row in reader.records() {
        let row = row?;
        if &row[5] == "QOP" {
            practices.push(row[0].to_string());
        }
    }
    anyhow::ensure!(
        !outcodes.is_empty() && !practices.is_empty(),
        "no Greater Manchester districts or practices in {}",
        geo_dir.display()
    );
    let mut rng = rand::rngs::StdRng::seed_from_u64(18);
    let letters = b"ABDEFGHJLNPQRSTUWXYZ";
    let modes = ["in_person", "telephone", "online"];
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let (text, cats) = &said[i % said.len()];
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if rng.random_bool(0.08) && signpost::domain::taxonomy::find(&cats[0]).is_some() {
            q.append_pair("category", &cats[0]);
        } else {
            q.append_pair("q", text);
        }
        if rng.random_bool(0.35) {
            let outcode = &outcodes[rng.random_range(0..outcodes.len())];
            let unit = format!(
                "{outcode} {}{}{}",
                rng.random_range(1..10),
                letters[rng.random_range(0..letters.len())] as char,
                letters[rng.random_range(0..letters.len())] as char
            );
            q.append_pair("postcode", &unit);
            if rng.random_bool(0.2) {
                q.append_pair("sort", "distance");
            }
        }
        if rng.random_bool(0.2) {
            q.append_pair("gp", &practices[rng.random_range(0..practices.len())]);
        }
        if rng.random_bool(0.25) {
            q.append_pair("age", &rng.random_range(16..90).to_string());
        }
        if rng.random_bool(0.15) {
            q.append_pair("delivery_mode", modes[rng.random_range(0..modes.len())]);
        }
        if rng.random_bool(0.15) {
            q.append_pair("accepting", "open");
        }
        if rng.random_bool(0.05) {
            q.append_pair("referral", "self");
        }
        if rng.random_bool(0.05) {
            q.append_pair("free", "true");
        }
        if rng.random_bool(0.1) {
            q.append_pair("include_unknown", "true");
        }
        out.push(Question {
            query: q.finish(),
            expected: cats.clone(),
        });
    }
    Ok(out)
}

/// (query string, the category a right answer has; empty for filter-only queries)
const MIX: &[(&str, &str)] = &[
    ("q=money+worries", "debt"),
    ("q=my+wife+died", "bereavement"),
    ("q=cant+sleep", "mental_wellbeing"),
    ("q=lonely", "befriending"),
    ("q=lost+my+job", "employment"),
    ("q=bereavment+counselling", "bereavement"),
    ("q=exercize", "physical_activity"),
    ("q=food+bank", "food"),
    ("q=bailiffs", "debt"),
    ("q=drinking+too+much", "drugs_alcohol"),
    ("q=debt+advice&delivery_mode=telephone", "debt"),
    ("q=befriending&age=75", "befriending"),
    ("q=housing&accepting=open", "housing"),
    ("q=carers&referral=self&free=true", "carers"),
    ("category=food&delivery_mode=in_person", "food"),
    ("q=domestic+abuse&gender=female", "domestic_abuse"),
    // Eligibility: the caller's postcode and GP practice, as a navigator would give them.
    ("q=debt+advice&postcode=M11+1AA&gp=P84004", "debt"),
    (
        "q=my+wife+died&postcode=BL1+1RU&gp=P82001&age=70",
        "bereavement",
    ),
    ("q=lonely&gp=P84004&include_unknown=true", "befriending"),
    (
        "category=food&postcode=M14+5AB&include_unknown=true&sort=distance&within_km=10",
        "food",
    ),
];

const WORDS: &[&str] = &[
    "friendly",
    "local",
    "weekly",
    "confidential",
    "volunteers",
    "trained",
    "drop-in",
    "appointments",
    "community",
    "centre",
    "support",
    "advice",
    "group",
    "families",
    "evenings",
    "weekends",
    "accessible",
    "free",
    "telephone",
    "online",
];

/// The benchmark's `i`th service: a demo service copied under its own id and
/// organisation, with a few words of its own. Made one at a time, so that a million
/// never sit in memory together.
fn service(i: usize, base: &[Value]) -> Value {
    let mut s = base[i % base.len()].clone();
    let copy = i / base.len();
    s["id"] = json!(service_id(i));
    let org = s["organization"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    s["organization"]["id"] = json!(format!("{}{:04x}", &org[..32], copy % 0xffff));
    s["name"] = json!(format!(
        "{} {}",
        s["name"].as_str().unwrap_or_default(),
        copy + 1
    ));
    let extra: Vec<&str> = (0..6)
        .map(|k| WORDS[(i * 7 + k * 13) % WORDS.len()])
        .collect();
    s["description"] = json!(format!(
        "{} {}.",
        s["description"].as_str().unwrap_or_default(),
        extra.join(" ")
    ));
    s
}

fn service_id(i: usize) -> uuid::Uuid {
    uuid::Uuid::from_u128(0xbe00_0000_0000_7000_8000_0000_0000_0000u128 | i as u128)
}

struct Stats {
    requests: usize,
    seconds: f64,
    p50: f64,
    p95: f64,
    p99: f64,
    /// Requests that failed (connection errors, timeouts, non-2xx answers).
    errors: usize,
}

fn stats(mut latencies: Vec<f64>, seconds: f64) -> Stats {
    latencies.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    Stats {
        requests: latencies.len(),
        seconds,
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        errors: 0,
    }
}

async fn drive<F, Fut>(concurrency: usize, seconds: u64, one: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let one = Arc::new(one);
    let end = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|c| {
            let one = one.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c * 5;
                while Instant::now() < end {
                    let t = Instant::now();
                    one(i).await;
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                    i += 1;
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    stats(all, started.elapsed().as_secs_f64())
}

/// What wrk asks for, in turn: GET paths, or form bodies posted to the search page.
#[derive(Clone)]
enum Door {
    Get(Vec<String>),
    PostForm(Vec<String>),
}

impl Door {
    /// The search mix through the JSON API.
    fn api(mix: &[Question]) -> Self {
        Door::Get(
            mix.iter()
                .map(|q| format!("/v1/search?{}", q.query))
                .collect(),
        )
    }

    /// The same questions posted to the search page, answered with the whole HTML page.
    fn page(mix: &[Question]) -> Self {
        Door::PostForm(mix.iter().map(|q| q.query.clone()).collect())
    }
}

/// Drives the mix over HTTP with wrk (a C load generator, so that the client takes as
/// little of the two cores as it can); `None` when wrk is not installed.
fn drive_wrk(
    base: &str,
    concurrency: usize,
    seconds: u64,
    door: &Door,
) -> anyhow::Result<Option<Stats>> {
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("mix.lua");
    let (items, request) = match door {
        Door::Get(paths) => (paths, r#"wrk.format("GET", mix[(i % #mix) + 1])"#),
        Door::PostForm(bodies) => (
            bodies,
            r#"wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, mix[(i % #mix) + 1])"#,
        ),
    };
    let paths: Vec<String> = items.iter().map(|p| format!("\"{p}\"")).collect();
    std::fs::write(
        &script,
        format!(
            r#"local mix = {{{}}}
local threads = 0
function setup(thread)
  thread:set("i", threads * 7)
  threads = threads + 1
end
request = function()
  i = (i or 0) + 1
  return {request}
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %d %f %f %f %f %d\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.timeout + e.status))
end
"#,
            paths.join(","),
        ),
    )?;
    let output = match Command::new("wrk")
        .arg(format!("-t{}", concurrency.min(2)))
        .arg(format!("-c{concurrency}"))
        .arg(format!("-d{seconds}s"))
        .arg("-s")
        .arg(&script)
        .arg(base)
        .stderr(Stdio::inherit())
        .output()
    {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("WRK "))
        .with_context(|| format!("wrk printed no summary: {text}"))?;
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(f64::NAN))
        .collect();
    anyhow::ensure!(v.len() == 6, "unexpected wrk summary: {line}");
    Ok(Some(Stats {
        requests: v[0] as usize,
        seconds: v[1],
        p50: v[2],
        p95: v[3],
        p99: v[4],
        errors: v[5] as usize,
    }))
}

/// Calls `one(i)` `rate` times a second for `seconds`, each call on its own task so that
/// a slow answer never delays the next (an open loop, as partners' writes arrive); the
/// latency of each, and how many failed.
fn spawn_writes<F, Fut>(rate: f64, seconds: u64, one: F) -> tokio::task::JoinHandle<Stats>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    tokio::spawn(async move {
        let started = Instant::now();
        let end = started + Duration::from_secs(seconds);
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        let mut running = tokio::task::JoinSet::new();
        let mut i = 0;
        loop {
            tick.tick().await;
            if Instant::now() >= end {
                break;
            }
            let write = one(i);
            i += 1;
            running.spawn(async move {
                let t = Instant::now();
                let ok = write.await;
                (t.elapsed().as_secs_f64() * 1000.0, ok)
            });
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        while let Some(done) = running.join_next().await {
            let (ms, ok) = done.unwrap_or((f64::NAN, false));
            latencies.push(ms);
            errors += usize::from(!ok);
        }
        Stats {
            errors,
            ..stats(latencies, started.elapsed().as_secs_f64())
        }
    })
}

/// The service the `i`th write changes, spread over the whole directory.
fn written(i: usize, n: usize) -> usize {
    (i.wrapping_mul(2_654_435_761)) % n
}

/// A partner's capacity update, as the `i`th write says it.
fn capacity_body(i: usize) -> Value {
    match i % 3 {
        0 => json!({"accepting": "open"}),
        1 => json!({"accepting": "waitlist", "waiting_weeks": i % 12}),
        _ => json!({"accepting": "closed"}),
    }
}

/// Partners' capacity updates through signpost's API while it is measured.
fn signpost_writes(
    http: &reqwest::Client,
    base: &str,
    n: usize,
    rate: f64,
    seconds: u64,
) -> Option<tokio::task::JoinHandle<Stats>> {
    (rate > 0.0).then(|| {
        let http = http.clone();
        let base = base.to_string();
        spawn_writes(rate, seconds, move |i| {
            let request = http
                .put(format!(
                    "{base}/v1/services/{}/capacity",
                    service_id(written(i, n))
                ))
                .bearer_auth(BENCH_ADMIN_KEY)
                .json(&capacity_body(i));
            async move {
                match request.send().await {
                    Ok(r) => r.status().is_success(),
                    Err(_) => false,
                }
            }
        })
    })
}

/// The same updates as SQL on PostgreSQL's table while it is measured.
fn postgres_writes(
    pool: &sqlx::PgPool,
    n: usize,
    rate: f64,
    seconds: u64,
) -> Option<tokio::task::JoinHandle<Stats>> {
    (rate > 0.0).then(|| {
        let pool = pool.clone();
        spawn_writes(rate, seconds, move |i| {
            let pool = pool.clone();
            async move {
                let accepting = capacity_body(i)["accepting"].as_str().map(String::from);
                sqlx::query("UPDATE bench_services SET accepting = $1 WHERE id = $2")
                    .bind(accepting)
                    .bind(service_id(written(i, n)).to_string())
                    .execute(&pool)
                    .await
                    .is_ok()
            }
        })
    })
}

/// One row of the results table; failed requests are said in the row.
fn print_row(n: usize, name: &str, c: usize, s: &Stats) {
    let failed = match s.errors {
        0 => String::new(),
        e => format!(" ({e} failed)"),
    };
    println!(
        "| {n} | {name}{failed} | {c} | {:.0} | {:.2} | {:.2} | {:.2} |",
        s.requests as f64 / s.seconds,
        s.p50,
        s.p95,
        s.p99
    );
}

/// The Open Referral UK feed beside the native listing: numbered pages of 50 spread
/// over the whole directory, the native cursor listing's pages of 50 (filtered by
/// category, as a client walking it would ask), and every service as NDJSON in one
/// request.
async fn feed_figures(
    base: &str,
    n: usize,
    args: &Args,
    http: &reqwest::Client,
    notes: &mut Vec<String>,
) -> anyhow::Result<()> {
    let pages = n.div_ceil(50).max(1);
    let feed = Door::Get(
        (0..40)
            .map(|k| format!("/oruk/services?per_page=50&page={}", 1 + (k * 7919) % pages))
            .collect(),
    );
    let native = Door::Get(
        signpost::domain::taxonomy::CATEGORIES
            .iter()
            .map(|c| format!("/v1/services?limit=50&category={}", c.id))
            .collect(),
    );
    let c = *args.concurrency.last().unwrap_or(&16);
    for (name, door) in [
        ("ORUK feed /oruk/services pages of 50", &feed),
        ("native /v1/services pages of 50", &native),
    ] {
        if let Some(s) = drive_wrk(base, c, args.seconds, door)? {
            print_row(n, name, c, &s);
        }
    }
    let started = Instant::now();
    let body = http
        .get(format!("{base}/oruk/services?format=ndjson&full=true"))
        .send()
        .await?
        .bytes()
        .await?;
    let lines = body.iter().filter(|b| **b == b'\n').count();
    notes.push(format!(
        "{n} services: the whole feed as NDJSON (fully nested): {lines} services, {:.0} MB in {:.1}s",
        body.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

const PG_SCHEMA: &str = "
DROP TABLE IF EXISTS bench_services;
CREATE TABLE bench_services (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT NOT NULL, organization TEXT NOT NULL,
    categories TEXT[] NOT NULL, category_text TEXT NOT NULL, delivery_modes TEXT[] NOT NULL, status TEXT NOT NULL,
    accepting TEXT, self_referral BOOLEAN NOT NULL, free BOOLEAN, gender TEXT NOT NULL,
    min_age INT NOT NULL, max_age INT NOT NULL,
    cov_in TEXT[] NOT NULL, cov_ex TEXT[] NOT NULL, latitude DOUBLE PRECISION, longitude DOUBLE PRECISION,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', name), 'A') ||
        setweight(to_tsvector('english', organization), 'B') ||
        setweight(to_tsvector('english', category_text), 'B') ||
        setweight(to_tsvector('english', description), 'C')) STORED
);
CREATE INDEX bench_services_tsv ON bench_services USING GIN (tsv);
CREATE INDEX bench_services_categories ON bench_services USING GIN (categories);
CREATE INDEX bench_services_coverage ON bench_services USING GIN (cov_in);
";

async fn load_postgres(pool: &sqlx::PgPool, n: usize, base: &[Value]) -> anyhow::Result<f64> {
    let started = Instant::now();
    sqlx::raw_sql(PG_SCHEMA).execute(pool).await?;
    for from in (0..n).step_by(1000) {
        let chunk: Vec<Value> = (from..(from + 1000).min(n))
            .map(|i| service(i, base))
            .collect();
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO bench_services (id, name, description, organization, categories, category_text, delivery_modes, status, accepting, self_referral, free, gender, min_age, max_age, cov_in, cov_ex, latitude, longitude) ",
        );
        q.push_values(&chunk, |mut b, s| {
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let cats = strings(&s["categories"]);
            let cat_text: Vec<String> = cats
                .iter()
                .filter_map(|c| signpost::domain::taxonomy::find(c))
                .map(|c| format!("{} {}", c.name, c.description))
                .collect();
            b.push_bind(s["id"].as_str().unwrap_or_default().to_string())
                .push_bind(s["name"].as_str().unwrap_or_default().to_string())
                .push_bind(s["description"].as_str().unwrap_or_default().to_string())
                .push_bind(
                    s["organization"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
                .push_bind(cats)
                .push_bind(cat_text.join(". "))
                .push_bind(strings(&s["delivery_modes"]))
                .push_bind(s["status"].as_str().unwrap_or("active").to_string())
                .push_bind(s["capacity"]["accepting"].as_str().map(String::from))
                .push_bind(s["referral"]["route"].as_str() != Some("professional_referral"))
                .push_bind(s["cost"]["free"].as_bool())
                .push_bind(s["gender"].as_str().unwrap_or("any").to_string())
                .push_bind(s["minimum_age"].as_i64().unwrap_or(0) as i32)
                .push_bind(s["maximum_age"].as_i64().unwrap_or(255) as i32);
            let coverage: Coverage =
                serde_json::from_value(s["coverage"].clone()).unwrap_or_default();
            let tokens = |rules: &[signpost::domain::coverage::CoverageRule]| -> Vec<String> {
                rules.iter().map(rule_token).collect()
            };
            let location = &s["locations"][0];
            b.push_bind(tokens(&coverage.include))
                .push_bind(tokens(&coverage.exclude))
                .push_bind(location["latitude"].as_f64())
                .push_bind(location["longitude"].as_f64());
        });
        q.build().execute(pool).await?;
    }
    // As a live table would be: vacuumed (which also merges the GIN indexes' pending
    // entries) and analysed, so that no autovacuum runs during the measurements.
    sqlx::query("VACUUM ANALYZE bench_services")
        .execute(pool)
        .await?;
    Ok(started.elapsed().as_secs_f64())
}

/// A query's caller, resolved once against the reference data as signpost does per
/// request: the coverage tokens they meet and where they are.
#[derive(Default)]
struct Place {
    tokens: Option<Vec<String>>,
    origin: Option<(f64, f64)>,
}

impl Place {
    async fn resolve(store: &signpost::storage::Store, query: &str) -> anyhow::Result<Place> {
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let postcode = get("postcode")
            .map(|p| signpost::geo::Postcode::parse(&p))
            .transpose()
            .map_err(anyhow::Error::msg)?;
        let gp = get("gp");
        if postcode.is_none() && gp.is_none() {
            return Ok(Place::default());
        }
        let caller = store.caller(postcode, gp, None, None).await?;
        let origin = store.origin(&caller).await?;
        Ok(Place {
            tokens: Some(caller.tokens()),
            origin: origin.map(|o| (o.latitude, o.longitude)),
        })
    }
}

/// Great-circle kilometres from a point to the row's location, in SQL.
const PG_DISTANCE: &str = "2 * 6371 * asin(sqrt(power(sin(radians(latitude - $LAT) / 2), 2) + cos(radians($LAT)) * cos(radians(latitude)) * power(sin(radians(longitude - $LON) / 2), 2)))";

/// The same query as PostgreSQL full-text search the way open directories do it, with
/// coverage as token arrays (GIN) and distance computed in SQL.
async fn pg_search(
    pool: &sqlx::PgPool,
    query: &str,
    place: &Place,
) -> anyhow::Result<Vec<Vec<String>>> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut q = sqlx::QueryBuilder::new("SELECT categories FROM bench_services");
    let text = get("q");
    if let Some(t) = &text {
        q.push(", plainto_tsquery('english', ")
            .push_bind(t.clone())
            .push(") query WHERE tsv @@ query");
    } else {
        q.push(" WHERE TRUE");
    }
    q.push(" AND status IN ('active', 'temporarily_closed')");
    if let Some(c) = get("category") {
        q.push(" AND ").push_bind(c).push(" = ANY(categories)");
    }
    if let Some(m) = get("delivery_mode") {
        q.push(" AND ").push_bind(m).push(" = ANY(delivery_modes)");
    }
    if let Some(a) = get("age") {
        let a: i32 = a.parse().unwrap_or(0);
        q.push(" AND min_age <= ")
            .push_bind(a)
            .push(" AND max_age >= ")
            .push_bind(a);
    }
    if get("accepting").is_some() {
        q.push(" AND accepting = 'open'");
    }
    if get("referral").is_some() {
        q.push(" AND self_referral");
    }
    if get("free").is_some() {
        q.push(" AND free");
    }
    if get("gender").is_some() {
        q.push(" AND gender IN ('any', 'female')");
    }
    if let Some(tokens) = &place.tokens {
        q.push(" AND cov_in && ")
            .push_bind(tokens.clone())
            .push(" AND NOT (cov_ex && ")
            .push_bind(tokens.clone())
            .push(")");
    }
    let distance = place.origin.map(|(lat, lon)| {
        PG_DISTANCE
            .replace("$LAT", &lat.to_string())
            .replace("$LON", &lon.to_string())
    });
    if let (Some(km), Some(d)) = (get("within_km"), &distance) {
        let km: f64 = km.parse().unwrap_or(0.0);
        q.push(format!(
            " AND ('telephone' = ANY(delivery_modes) OR 'online' = ANY(delivery_modes) OR {d} <= {km})"
        ));
    }
    match (get("sort").as_deref(), &distance) {
        (Some("distance"), Some(d)) => {
            q.push(format!(" ORDER BY {d} NULLS LAST"));
        }
        _ if text.is_some() => {
            q.push(" ORDER BY ts_rank(tsv, query) DESC");
        }
        _ => {}
    }
    q.push(" LIMIT 10");
    let rows = q.build().fetch_all(pool).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<Vec<String>, _>(0).unwrap_or_default())
        .collect())
}

fn top5_right(categories: &[Vec<String>], expected: &str) -> bool {
    !categories.is_empty()
        && categories
            .iter()
            .take(5)
            .any(|c| c.iter().any(|x| x == expected))
}

/// The categories of the top five hits of a search answer.
fn hit_categories(answer: &Value) -> Vec<Vec<String>> {
    answer["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .map(|h| {
                    h["service"]["categories"]
                        .as_array()
                        .map(|c| {
                            c.iter()
                                .filter_map(|x| x.as_str().map(String::from))
                                .collect()
                        })
                        .unwrap_or_default()
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where signpost's records live for one directory size: a SQLite file in the data
/// folder (kept and reused with --data-dir), or a fresh PostgreSQL database in the
/// benchmark's cluster. Returns the database URL and the import's seconds (None when
/// reused).
async fn prepare_backend(
    args: &Args,
    pool: &sqlx::PgPool,
    backend: Backend,
    n: usize,
    dir: &std::path::Path,
    base_services: &[Value],
) -> anyhow::Result<(String, Option<f64>)> {
    let db = match backend {
        Backend::Sqlite => {
            let file = dir.join("bench.db");
            let db = format!("sqlite://{}", file.display());
            if file.exists() {
                return Ok((db, None));
            }
            db
        }
        Backend::Postgres => {
            let name = format!("signpost_bench_{n}");
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(pool)
                .await?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(pool)
                .await?;
            let mut url = url::Url::parse(&args.postgres_url)?;
            url.set_path(&name);
            url.to_string()
        }
    };
    let file = dir.join("services.ndjson");
    if !file.exists() {
        let partial = dir.join("services.ndjson.partial");
        let mut w = std::io::BufWriter::new(std::fs::File::create(&partial)?);
        for i in 0..n {
            writeln!(w, "{}", service(i, base_services))?;
        }
        w.flush()?;
        drop(w);
        std::fs::rename(&partial, &file)?;
    }
    let t = Instant::now();
    let status = Command::new(&args.binary)
        .args(["--database-url", &db, "import"])
        .arg(&file)
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "import failed");
    Ok((db, Some(t.elapsed().as_secs_f64())))
}

/// Measures signpost's search API at `c` clients (wrk), with partners writing meanwhile.
async fn measure_signpost(
    args: &Args,
    http: &reqwest::Client,
    base: &str,
    mix: &Arc<Vec<Question>>,
    n: usize,
    c: usize,
) -> anyhow::Result<(Stats, Option<Stats>, bool)> {
    let writes = signpost_writes(http, base, n, args.writes_per_second, args.seconds);
    let door = Door::api(mix);
    let (b, seconds) = (base.to_string(), args.seconds);
    let searched = tokio::task::spawn_blocking(move || drive_wrk(&b, c, seconds, &door)).await??;
    let (searched, wrk_missing) = match searched {
        Some(stats) => (stats, false),
        None => {
            let client = http.clone();
            let b = base.to_string();
            let mix = mix.clone();
            let stats = drive(c, args.seconds, move |i| {
                let client = client.clone();
                let url = format!("{b}/v1/search?{}", mix[i % mix.len()].query);
                async move {
                    if let Ok(r) = client.get(url).send().await {
                        let _ = r.bytes().await;
                    }
                }
            })
            .await;
            (stats, true)
        }
    };
    let written = match writes {
        Some(w) => Some(w.await?),
        None => None,
    };
    Ok((searched, written, wrk_missing))
}

/// Measures PostgreSQL full-text search on the same mix at `c` connections, with the
/// same writes meanwhile.
async fn measure_postgres(
    args: &Args,
    pool: &sqlx::PgPool,
    mix: &Arc<Vec<Question>>,
    places: &Arc<std::collections::HashMap<String, Place>>,
    n: usize,
    c: usize,
) -> anyhow::Result<(Stats, Option<Stats>)> {
    let writes = postgres_writes(pool, n, args.writes_per_second, args.seconds);
    let (p, pl, mix) = (pool.clone(), places.clone(), mix.clone());
    let searched = drive(c, args.seconds, move |i| {
        let p = p.clone();
        let pl = pl.clone();
        let q = mix[i % mix.len()].query.clone();
        async move {
            let _ = pg_search(&p, &q, &pl[&q]).await;
        }
    })
    .await;
    let written = match writes {
        Some(w) => Some(w.await?),
        None => None,
    };
    Ok((searched, written))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    signpost::links::checker::install_tls_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let mix = Arc::new(match args.mix {
        MixKind::Fixed => fixed_mix(),
        MixKind::Distinct => distinct_mix(args.questions, &args.geo_dir)?,
    });
    if let Some(path) = &args.dump_mix {
        let lines: Vec<&str> = mix.iter().map(|q| q.query.as_str()).collect();
        std::fs::write(path, lines.join("\n") + "\n")?;
        return Ok(());
    }
    if let Some(path) = &args.write_services {
        let n = args.services.first().copied().unwrap_or(0);
        let base = signpost::demo::services()?;
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        for i in 0..n {
            writeln!(w, "{}", service(i, &base))?;
        }
        w.flush()?;
        return Ok(());
    }
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(40)
        .connect(&args.postgres_url)
        .await
        .context("connecting to PostgreSQL")?;
    let base_services = signpost::demo::services()?;
    let with_writes = if args.writes_per_second > 0.0 {
        format!(
            ", {} capacity updates a second meanwhile",
            args.writes_per_second
        )
    } else {
        String::new()
    };
    println!(
        "{} questions ({:?} mix){with_writes}\n",
        mix.len(),
        args.mix
    );
    println!("| services | system | concurrency | req/s | p50 ms | p95 ms | p99 ms |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let mut notes = Vec::new();
    let mut wrk_missing = false;
    for &n in &args.services {
        let temp = tempfile::tempdir()?;
        let dir = match &args.data_dir {
            Some(d) => d.join(n.to_string()),
            None => temp.path().to_path_buf(),
        };
        std::fs::create_dir_all(&dir)?;
        let pg_load_s = load_postgres(&pool, n, &base_services).await?;
        notes.push(format!(
            "{n} services: PostgreSQL full-text search table load + indexes {pg_load_s:.1}s"
        ));
        // PostgreSQL's figures at each concurrency, measured once and shown beside each
        // backend.
        let mut pg_figures: std::collections::HashMap<usize, (Stats, Option<Stats>)> =
            std::collections::HashMap::new();
        for &backend in &args.backends {
            let label = format!("{backend:?}").to_lowercase();
            let (db, import_s) =
                prepare_backend(&args, &pool, backend, n, &dir, &base_services).await?;
            let status = Command::new(&args.binary)
                .args(["--database-url", &db, "geo", "import-dir"])
                .arg(&args.geo_dir)
                .stderr(Stdio::null())
                .status()?;
            anyhow::ensure!(
                status.success(),
                "importing reference data from {} failed",
                args.geo_dir.display()
            );
            let store = signpost::storage::Store::connect(&db).await?;
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            let index_dir = dir.join(match backend {
                Backend::Sqlite => "index",
                Backend::Postgres => "index-postgres",
            });
            if backend == Backend::Postgres {
                let _ = std::fs::remove_dir_all(&index_dir);
            }
            let t = Instant::now();
            let mut child = Command::new(&args.binary)
                .args(["--database-url", &db, "--index-dir"])
                .arg(&index_dir)
                // One load generator on one address: no rate limit.
                .args([
                    "serve",
                    "--bind",
                    &format!("127.0.0.1:{port}"),
                    "--rate-limit-per-minute",
                    "0",
                    "--key-rate-limit-per-minute",
                    "0",
                    "--admin-key",
                    BENCH_ADMIN_KEY,
                ])
                .stderr(Stdio::null())
                .spawn()?;
            let base = format!("http://127.0.0.1:{port}");
            while http.get(format!("{base}/health")).send().await.is_err() {
                anyhow::ensure!(
                    t.elapsed() < Duration::from_secs(900),
                    "server did not start"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let startup_s = t.elapsed().as_secs_f64();
            let mut places = std::collections::HashMap::new();
            for q in mix.iter() {
                if let std::collections::hash_map::Entry::Vacant(e) = places.entry(q.query.clone())
                {
                    e.insert(Place::resolve(&store, &q.query).await?);
                }
            }
            let places = Arc::new(places);

            let (mut sp_right, mut pg_right, mut pg_empty, mut asked) = (0, 0, 0, 0);
            let step = (mix.len() / QUALITY_SAMPLE).max(1);
            for q in mix.iter().step_by(step).filter(|q| !q.expected.is_empty()) {
                let answer: Value = http
                    .get(format!("{base}/v1/search?{}&limit=5", q.query))
                    .send()
                    .await?
                    .json()
                    .await?;
                let right = |cats: &[Vec<String>]| q.expected.iter().any(|e| top5_right(cats, e));
                sp_right += usize::from(right(&hit_categories(&answer)));
                let pg = pg_search(&pool, &q.query, &places[&q.query]).await?;
                pg_right += usize::from(right(&pg));
                pg_empty += usize::from(pg.is_empty());
                asked += 1;
            }
            notes.push(format!(
                "{n} services on {label}: import {}, server start incl. index build {startup_s:.1}s; right kind of service in top 5 ({asked} questions of the mix): signpost {sp_right}, PostgreSQL {pg_right} (no result at all for {pg_empty})",
                import_s.map_or("reused".to_string(), |s| format!("{s:.1}s")),
            ));

            // One untimed pass over the mix first, as a server that has been answering
            // for a while would have: the pages of the index in memory, each
            // segment's kept sets and decoded hits, the reference data read.
            drive_wrk(&base, 16, WARM_UP_SECONDS, &Door::api(&mix))?;
            for &c in &args.concurrency {
                let (sp, sp_writes, missing) =
                    measure_signpost(&args, &http, &base, &mix, n, c).await?;
                wrk_missing |= missing;
                if pg_figures.is_empty() {
                    let (p, pl, mix) = (pool.clone(), places.clone(), mix.clone());
                    drive(16, WARM_UP_SECONDS, move |i| {
                        let (p, pl) = (p.clone(), pl.clone());
                        let q = mix[i % mix.len()].query.clone();
                        async move {
                            let _ = pg_search(&p, &q, &pl[&q]).await;
                        }
                    })
                    .await;
                }
                if let std::collections::hash_map::Entry::Vacant(e) = pg_figures.entry(c) {
                    e.insert(measure_postgres(&args, &pool, &mix, &places, n, c).await?);
                }
                let (pg, pg_writes) = &pg_figures[&c];
                print_row(n, &format!("signpost on {label} (HTTP)"), c, &sp);
                if let Some(w) = &sp_writes {
                    print_row(n, "… its partners' writes (PUT capacity)", c, w);
                }
                print_row(n, "PostgreSQL FTS (SQL)", c, pg);
                if let Some(w) = pg_writes {
                    print_row(n, "… its writes (UPDATE)", c, w);
                }
                println!(
                    "| {n} | ratio | {c} | {:.1}× | | | |",
                    (sp.requests as f64 / sp.seconds)
                        / (pg.requests as f64 / pg.seconds).max(0.001)
                );
                if let Some(page) = drive_wrk(&base, c, args.seconds, &Door::page(&mix))? {
                    print_row(n, "signpost search page (HTML)", c, &page);
                }
            }
            if !args.no_feed {
                feed_figures(&base, n, &args, &http, &mut notes).await?;
            }
            notes.push(format!(
                "{n} services on {label}: signpost server peak memory {:.0} MiB",
                signpost::telemetry::peak_rss_mib(&child.id().to_string())
            ));
            let _ = child.kill();
            let _ = child.wait();
        }
    }
    println!();
    notes.push(if wrk_missing {
        "signpost driven by an in-process HTTP client on the same cores (wrk not installed; install it for lighter load generation)".to_string()
    } else {
        "signpost driven over HTTP by wrk; PostgreSQL by SQL from this process, as many connections as clients".to_string()
    });
    for n in notes {
        println!("- {n}");
    }
    Ok(())
}
