//! Search benchmark: signpost over HTTP against PostgreSQL full-text search on the same
//! services and the same navigator query mix. See README ("Benchmark").

use anyhow::Context;
use clap::Parser;
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

fn generate(n: usize) -> Vec<Value> {
    let base = signpost::demo::services();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut s = base[i % base.len()].clone();
        let copy = i / base.len();
        s["id"] = json!(uuid::Uuid::from_u128(
            0xbe00_0000_0000_7000_8000_0000_0000_0000u128 | i as u128
        ));
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
        out.push(s);
    }
    out
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
enum Door {
    Get(Vec<String>),
    PostForm(Vec<String>),
}

impl Door {
    /// The search mix through the JSON API.
    fn api() -> Self {
        Door::Get(MIX.iter().map(|(q, _)| format!("/v1/search?{q}")).collect())
    }

    /// The same questions posted to the search page, answered with the whole HTML page.
    fn page() -> Self {
        Door::PostForm(MIX.iter().map(|(q, _)| q.to_string()).collect())
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

async fn load_postgres(pool: &sqlx::PgPool, services: &[Value]) -> anyhow::Result<f64> {
    let started = Instant::now();
    sqlx::raw_sql(PG_SCHEMA).execute(pool).await?;
    for chunk in services.chunks(1000) {
        let mut q = sqlx::QueryBuilder::new(
            "INSERT INTO bench_services (id, name, description, organization, categories, category_text, delivery_modes, status, accepting, self_referral, free, gender, min_age, max_age, cov_in, cov_ex, latitude, longitude) ",
        );
        q.push_values(chunk, |mut b, s| {
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
    sqlx::query("ANALYZE bench_services").execute(pool).await?;
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

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(32)
        .connect(&args.postgres_url)
        .await
        .context("connecting to PostgreSQL")?;
    signpost::links::checker::install_tls_provider();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
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
        let services = generate(n);
        let db_file = dir.join("bench.db");
        let db = format!("sqlite://{}", db_file.display());
        let import_s = if db_file.exists() {
            None
        } else {
            let file = dir.join("services.ndjson");
            let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
            for s in &services {
                writeln!(w, "{s}")?;
            }
            w.flush()?;
            let t = Instant::now();
            let status = Command::new(&args.binary)
                .args(["--database-url", &db, "import"])
                .arg(&file)
                .stderr(Stdio::null())
                .status()?;
            anyhow::ensure!(status.success(), "import failed");
            Some(t.elapsed().as_secs_f64())
        };
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
        let t = Instant::now();
        let mut child = Command::new(&args.binary)
            .args(["--database-url", &db, "--index-dir"])
            .arg(dir.join("index"))
            // One load generator on one address: no rate limit.
            .args([
                "serve",
                "--bind",
                &format!("127.0.0.1:{port}"),
                "--rate-limit-per-minute",
                "0",
                "--key-rate-limit-per-minute",
                "0",
            ])
            .stderr(Stdio::null())
            .spawn()?;
        let base = format!("http://127.0.0.1:{port}");
        while http.get(format!("{base}/health")).send().await.is_err() {
            anyhow::ensure!(
                t.elapsed() < Duration::from_secs(600),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let startup_s = t.elapsed().as_secs_f64();
        let pg_load_s = load_postgres(&pool, &services).await?;
        let mut places = std::collections::HashMap::new();
        for (q, _) in MIX {
            places.insert(*q, Place::resolve(&store, q).await?);
        }
        let places = Arc::new(places);

        let mut sp_right = 0;
        let mut pg_right = 0;
        let mut pg_empty = 0;
        for (q, expected) in MIX {
            let r: Value = http
                .get(format!("{base}/v1/search?{q}&limit=5"))
                .send()
                .await?
                .json()
                .await?;
            let cats: Vec<Vec<String>> = r["hits"]
                .as_array()
                .map(|h| {
                    h.iter()
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
                .unwrap_or_default();
            sp_right += usize::from(top5_right(&cats, expected));
            let pg = pg_search(&pool, q, &places[q]).await?;
            pg_right += usize::from(top5_right(&pg, expected));
            pg_empty += usize::from(pg.is_empty());
        }
        notes.push(format!(
            "{n} services: import {}, server start incl. index build {startup_s:.1}s, PostgreSQL load+index {pg_load_s:.1}s; right kind of service in top 5: signpost {sp_right}/{}, PostgreSQL {pg_right}/{} (no result at all for {pg_empty})",
            import_s.map_or("reused".to_string(), |s| format!("{s:.1}s")),
            MIX.len(),
            MIX.len(),
        ));

        for &c in &args.concurrency {
            let sp = match drive_wrk(&base, c, args.seconds, &Door::api())? {
                Some(stats) => stats,
                None => {
                    wrk_missing = true;
                    let client = http.clone();
                    let b = base.clone();
                    drive(c, args.seconds, move |i| {
                        let client = client.clone();
                        let url = format!("{b}/v1/search?{}", MIX[i % MIX.len()].0);
                        async move {
                            if let Ok(r) = client.get(url).send().await {
                                let _ = r.bytes().await;
                            }
                        }
                    })
                    .await
                }
            };
            let p = pool.clone();
            let pl = places.clone();
            let pg = drive(c, args.seconds, move |i| {
                let p = p.clone();
                let pl = pl.clone();
                async move {
                    let q = MIX[i % MIX.len()].0;
                    let _ = pg_search(&p, q, &pl[q]).await;
                }
            })
            .await;
            for (name, s) in [("signpost (HTTP)", &sp), ("PostgreSQL FTS (SQL)", &pg)] {
                print_row(n, name, c, s);
            }
            println!(
                "| {n} | ratio | {c} | {:.1}× | | | |",
                (sp.requests as f64 / sp.seconds) / (pg.requests as f64 / pg.seconds).max(0.001)
            );
            if let Some(page) = drive_wrk(&base, c, args.seconds, &Door::page())? {
                print_row(n, "signpost search page (HTML)", c, &page);
            }
        }
        feed_figures(&base, n, &args, &http, &mut notes).await?;
        notes.push(format!(
            "{n} services: signpost server peak memory {:.0} MiB",
            signpost::telemetry::peak_rss_mib(&child.id().to_string())
        ));
        let _ = child.kill();
        let _ = child.wait();
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
