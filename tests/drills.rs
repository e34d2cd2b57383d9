//! Fault drills on the real binary: the server killed with SIGKILL during writes and
//! during an import, two replicas on one PostgreSQL (one of them killed), PostgreSQL
//! restarted under load, and the disk filling up or turning read-only under the index.
//! Each ends by checking that every acknowledged write is in the database and in search,
//! and that search agrees with the database.
//!
//! The PostgreSQL drills run when SIGNPOST_TEST_POSTGRES_URL names a server (and, for the
//! restart, SIGNPOST_TEST_POSTGRES_DIR holds its `start.sh`/`stop.sh`, as `.ci/postgres.sh`
//! writes them); the disk drills need root to mount a small tmpfs, and are required when
//! SIGNPOST_REQUIRE_DRILLS is set (as `.ci/run` does).

mod support;

use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use support::{ADMIN_KEY, Server, all_services, client, fresh_database, get_json};

/// The drills stop servers and databases: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a writer was told had been done.
#[derive(Default)]
struct Acknowledged {
    /// Services created: id and the one-word name searched for.
    created: Vec<(String, String)>,
    /// Capacity stated: service id and waiting weeks.
    capacity: HashMap<String, i64>,
    /// Answers that were neither success nor 503 (must stay empty).
    failures: Vec<String>,
    /// 503 answers (the database down or its disk full), where they are allowed.
    refused: usize,
}

fn service_body(org: &str, word: &str) -> Value {
    json!({
        "organization_id": org,
        "name": format!("Drill {word}"),
        "description": format!("A service written during a fault drill ({word})."),
        "categories": ["debt"],
        "delivery_modes": ["telephone"],
        "referral": {"route": "self_referral"},
        "capacity": {"accepting": "open"},
    })
}

/// Creates services and states their capacity, one after another, until `stop` is set or
/// the server stops answering; `unavailable_ok` lets 503 answers pass (a database down).
async fn keep_writing(
    base: String,
    org: String,
    writer: usize,
    stop: Arc<AtomicBool>,
    unavailable_ok: bool,
) -> Acknowledged {
    let client = client();
    let mut done = Acknowledged::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let word = format!("drillw{writer}n{n}");
        let created = client
            .post(format!("{base}/v1/services"))
            .bearer_auth(ADMIN_KEY)
            .json(&service_body(&org, &word))
            .send()
            .await;
        let Ok(created) = created else { break };
        let status = created.status().as_u16();
        let Ok(body) = created.json::<Value>().await else {
            break;
        };
        match status {
            201 => {}
            503 if unavailable_ok => {
                done.refused += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            _ => {
                done.failures.push(format!("create: {status} {body}"));
                continue;
            }
        }
        let id = body["id"].as_str().unwrap().to_string();
        done.created.push((id.clone(), word));
        let stated = client
            .put(format!("{base}/v1/services/{id}/capacity"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"accepting": "waitlist", "waiting_weeks": n}))
            .send()
            .await;
        let Ok(stated) = stated else { break };
        match stated.status().as_u16() {
            200 => {
                done.capacity.insert(id, n);
            }
            503 if unavailable_ok => done.refused += 1,
            status => done
                .failures
                .push(format!("capacity: {status} {:?}", stated.text().await)),
        }
    }
    done
}

fn start_writers(base: &str, org: &str, writers: usize, unavailable_ok: bool) -> Writers {
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = (0..writers)
        .map(|w| {
            tokio::spawn(keep_writing(
                base.to_string(),
                org.to_string(),
                w,
                stop.clone(),
                unavailable_ok,
            ))
        })
        .collect();
    Writers { stop, tasks }
}

struct Writers {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Acknowledged>>,
}

impl Writers {
    async fn finish(self) -> Acknowledged {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Acknowledged::default();
        for task in self.tasks {
            let done = task.await.unwrap();
            all.created.extend(done.created);
            all.capacity.extend(done.capacity);
            all.failures.extend(done.failures);
            all.refused += done.refused;
        }
        all
    }
}

async fn create_organization(client: &reqwest::Client, server: &Server, name: &str) -> String {
    let r = client
        .post(server.url("/v1/organizations"))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Searches `server` for the one-word name until the service is found (or 10 s pass).
async fn found_by_search(server: &Server, word: &str, id: &str) -> Value {
    let hit = |result: &Value| {
        result["hits"]
            .as_array()
            .and_then(|hits| hits.iter().find(|h| h["service"]["id"] == id))
            .cloned()
    };
    let query = format!("q={word}&limit=50");
    hit(&support::wait_for_search(&server.base, &query, |r| hit(r).is_some()).await).unwrap()
}

/// Every acknowledged write is in the database and in search, with the acknowledged
/// capacity (or a later one).
async fn every_write_is_there(client: &reqwest::Client, server: &Server, done: &Acknowledged) {
    assert!(done.failures.is_empty(), "{:?}", done.failures);
    for (id, word) in &done.created {
        let service = get_json(client, server.url(&format!("/v1/services/{id}"))).await;
        let hit = found_by_search(server, word, id).await;
        if let Some(weeks) = done.capacity.get(id) {
            assert_eq!(service["capacity"]["waiting_weeks"], *weeks, "{service}");
            assert_eq!(
                hit["service"]["capacity"]["waiting_weeks"], *weeks,
                "search shows the acknowledged capacity: {hit}"
            );
        }
    }
}

/// Search agrees with the database: as many documents as records, once the index has
/// caught up, and a sample of records found by their names.
async fn search_agrees_with_database(client: &reqwest::Client, server: &Server) -> usize {
    let records = all_services(client, server).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = get_json(client, server.url("/ready")).await;
        if ready["index"]["documents"] == records.len() && ready["index"]["lag_changes"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the index holds {} documents, the database {} records: {ready}",
            ready["index"]["documents"],
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Records written by the drills carry a word of their own as the name's last word.
    let sample: Vec<(&String, &str)> = records
        .iter()
        .filter_map(|(id, r)| {
            let word = r["name"].as_str()?.rsplit(' ').next()?;
            (word.starts_with("drillw") || word.starts_with("imp")).then_some((id, word))
        })
        .collect();
    for (id, word) in sample.iter().step_by((sample.len() / 25).max(1)) {
        let found = get_json(
            client,
            server.url(&format!(
                "/v1/search?q={word}&limit=5&status=active&status=temporarily_closed&status=inactive&status=defunct"
            )),
        )
        .await;
        assert!(
            found["hits"]
                .as_array()
                .unwrap()
                .iter()
                .any(|h| h["service"]["id"] == id.as_str()),
            "{word} ({id}) is in the database but not found by search: {found}"
        );
    }
    records.len()
}

#[tokio::test]
async fn kill_9_during_writes_loses_no_acknowledged_write() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let index = dir.path().join("index");
    let client = client();
    let mut server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    let org = create_organization(&client, &server, "Drill writers").await;

    let writers = start_writers(&server.base, &org, 8, false);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill9();
    let done = writers.finish().await;
    assert!(
        done.created.len() >= 8,
        "the drill wrote too little to mean anything: {}",
        done.created.len()
    );

    let server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    every_write_is_there(&client, &server, &done).await;
    let records = search_agrees_with_database(&client, &server).await;
    eprintln!(
        "kill -9 during writes: {} services and {} capacities acknowledged, all present; {records} records = documents",
        done.created.len(),
        done.capacity.len()
    );
}

/// Starts `signpost import` of `copies` copies of the demo directory under new ids (each
/// name ending in a word of its own) into `db`, beside whatever server runs on it.
fn start_import(dir: &Path, db: &str, copies: usize) -> std::process::Child {
    let demo = std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .arg("demo")
        .output()
        .unwrap();
    let demo = String::from_utf8(demo.stdout).unwrap();
    let mut lines = String::new();
    for copy in 0..copies {
        for line in demo.lines() {
            let mut record: Value = serde_json::from_str(line).unwrap();
            record["id"] = json!(uuid::Uuid::new_v4().to_string());
            let name = record["name"].as_str().unwrap();
            record["name"] = json!(format!("{name} imp{copy}x{}", lines.len()));
            lines.push_str(&record.to_string());
            lines.push('\n');
        }
    }
    let file = dir.join("import.ndjson");
    std::fs::write(&file, lines).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(["--database-url", db, "--index-dir"])
        .arg(dir.join("unused-index"))
        .arg("import")
        .arg(&file)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn sigterm_during_writes_and_an_import_stops_in_order_and_loses_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let index = dir.path().join("index");
    let client = client();
    let mut server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    let org = create_organization(&client, &server, "Stopping drill").await;
    let writers = start_writers(&server.base, &org, 6, false);
    let mut import = start_import(dir.path(), &db, 20);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = server.terminate().await;
    let done = writers.finish().await;
    assert!(status.success(), "{status:?}: {}", server.log_text());
    assert!(server.log_text().contains("stopped"));
    assert!(
        import.wait().unwrap().success(),
        "the import goes on without the server"
    );

    let server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    every_write_is_there(&client, &server, &done).await;
    let records = search_agrees_with_database(&client, &server).await;
    eprintln!(
        "SIGTERM during writes and an import: exit 0; {} writes acknowledged, all present; {records} records = documents after restart",
        done.created.len()
    );
}

#[tokio::test]
async fn kill_9_during_an_import_leaves_search_agreeing_with_the_database() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let index = dir.path().join("index");
    let client = client();
    let mut server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    let before = get_json(&client, server.url("/ready")).await["index"]["documents"]
        .as_u64()
        .unwrap();

    let mut import = start_import(dir.path(), &db, 40);
    // Kill both once the server has taken in some of the import, not all.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = get_json(&client, server.url("/ready")).await;
        if ready["index"]["documents"].as_u64().unwrap() > before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the import never reached the index"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = import.kill();
    let finished_first = import.wait().unwrap().success();
    server.kill9();

    let server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    let records = search_agrees_with_database(&client, &server).await;
    assert!(records as u64 > before);
    eprintln!(
        "kill -9 during an import: {records} records after restart ({} before; import finished first: {finished_first}); search agrees",
        before
    );
}

/// Seconds until a write on one replica is found by search on the other.
async fn replica_lag(
    client: &reqwest::Client,
    from: &Server,
    to: &Server,
    org: &str,
    word: &str,
) -> f64 {
    let started = Instant::now();
    let r = client
        .post(from.url("/v1/services"))
        .bearer_auth(ADMIN_KEY)
        .json(&service_body(org, word))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    found_by_search(to, word, &id).await;
    started.elapsed().as_secs_f64()
}

#[tokio::test]
async fn two_replicas_on_postgres_share_writes_and_a_killed_one_catches_up() {
    if std::env::var("SIGNPOST_TEST_POSTGRES_URL").is_err() {
        eprintln!("skipped: SIGNPOST_TEST_POSTGRES_URL is not set");
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let client = client();
    let poll = ["--demo", "--poll-ms", "200"];
    let mut a = Server::start(
        &db,
        &dir.path().join("index-a"),
        dir.path().join("log-a"),
        &poll,
    )
    .await;
    let b = Server::start(
        &db,
        &dir.path().join("index-b"),
        dir.path().join("log-b"),
        &poll,
    )
    .await;
    let org = create_organization(&client, &a, "Replica drill").await;
    // The first search of a replica waits for its risk model (trained at start).
    for replica in [&a, &b] {
        get_json(&client, replica.url("/v1/search?q=debt")).await;
    }

    let mut lags = Vec::new();
    for n in 0..20 {
        let (from, to) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        lags.push(replica_lag(&client, from, to, &org, &format!("replicalag{n}")).await);
    }
    lags.sort_by(f64::total_cmp);
    let (median, max) = (lags[lags.len() / 2], lags[lags.len() - 1]);
    assert!(
        max < 2.0,
        "a write took {max:.2} s to reach the other replica: {lags:?}"
    );

    // A killed, writes go on through B; A catches up when it comes back.
    a.kill9();
    let writers = start_writers(&b.base, &org, 4, false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let done = writers.finish().await;
    assert!(!done.created.is_empty());
    let a = Server::start(
        &db,
        &dir.path().join("index-a"),
        dir.path().join("log-a"),
        &poll,
    )
    .await;
    every_write_is_there(&client, &a, &done).await;
    every_write_is_there(&client, &b, &done).await;
    let records = search_agrees_with_database(&client, &a).await;
    search_agrees_with_database(&client, &b).await;
    eprintln!(
        "two replicas: lag median {median:.3} s, max {max:.3} s; {} writes while one was down, all on both after restart ({records} records)",
        done.created.len()
    );
}

fn run_script(dir: &str, script: &str) {
    let status = std::process::Command::new("bash")
        .arg(Path::new(dir).join(script))
        .status()
        .unwrap();
    assert!(status.success(), "{script} failed");
}

#[tokio::test]
async fn postgres_restarted_under_load_answers_503_then_recovers_by_itself() {
    let (Ok(_), Ok(pg_dir)) = (
        std::env::var("SIGNPOST_TEST_POSTGRES_URL"),
        std::env::var("SIGNPOST_TEST_POSTGRES_DIR"),
    ) else {
        eprintln!("skipped: SIGNPOST_TEST_POSTGRES_URL and SIGNPOST_TEST_POSTGRES_DIR are not set");
        return;
    };
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let client = client();
    let server = Server::start(
        &db,
        &dir.path().join("index"),
        dir.path().join("log"),
        &["--demo"],
    )
    .await;
    let org = create_organization(&client, &server, "Restart drill").await;

    let writers = start_writers(&server.base, &org, 4, true);
    tokio::time::sleep(Duration::from_millis(500)).await;
    run_script(&pg_dir, "stop.sh");
    // While it is down: writes fail fast with 503 problem+json; search still answers.
    let mut slowest: f64 = 0.0;
    for _ in 0..5 {
        let started = Instant::now();
        let r = client
            .put(server.url("/v1/organizations/00000000-0000-0000-0000-000000000000"))
            .bearer_auth(ADMIN_KEY)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        slowest = slowest.max(started.elapsed().as_secs_f64());
        assert_eq!(r.status(), 503, "{:?}", r.text().await);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert!(r.headers().contains_key("retry-after"));
        let problem: Value = r.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains("database"),
            "{problem}"
        );
    }
    assert!(
        slowest < 8.0,
        "a request took {slowest:.1} s to fail: {}",
        server.log_text()
    );
    let search = client
        .get(server.url("/v1/search?q=debt"))
        .send()
        .await
        .unwrap();
    assert_eq!(search.status(), 200, "search answers from the index");
    let ready = client.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    run_script(&pg_dir, "start.sh");
    let back = Instant::now();
    loop {
        if client
            .get(server.url("/ready"))
            .send()
            .await
            .unwrap()
            .status()
            == 200
        {
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(15), "never recovered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered = back.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let done = writers.finish().await;
    every_write_is_there(&client, &server, &done).await;
    search_agrees_with_database(&client, &server).await;
    eprintln!(
        "PostgreSQL restart: failed requests answered 503 within {slowest:.2} s; ready again {recovered:.2} s after it came back; {} writes acknowledged, all present; {} refused with 503",
        done.created.len(),
        done.refused
    );
}

/// A tmpfs of `mib` MiB mounted at `path`, unmounted on drop; `None` where this process
/// may not mount (not root), which fails when SIGNPOST_REQUIRE_DRILLS is set.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(path: &Path, mib: u32) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            assert!(
                std::env::var("SIGNPOST_REQUIRE_DRILLS").is_err(),
                "the disk drills need root to mount a tmpfs"
            );
            eprintln!("skipped: cannot mount a tmpfs here (not root)");
            return None;
        }
        Some(SmallDisk(path.to_path_buf()))
    }

    /// Remounts with `ro` or `rw` (only while no file on it is open for writing).
    fn remount(&self, option: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Fills what is left with one file; returns it.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.0.join("filler");
        let mut f = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while f.write_all(&block).is_ok() {}
        let small = vec![0u8; 512];
        while f.write_all(&small).is_ok() {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

async fn capacity(
    client: &reqwest::Client,
    server: &Server,
    id: &str,
    weeks: i64,
) -> reqwest::Response {
    client
        .put(server.url(&format!("/v1/services/{id}/capacity")))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({"accepting": "waitlist", "waiting_weeks": weeks}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_full_disk_gives_a_clear_error_and_no_corrupt_index() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), 48) else {
        return;
    };
    let db = format!("sqlite://{}", disk.0.join("db.sqlite").display());
    let index = disk.0.join("index");
    let client = client();
    let mut server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    let org = create_organization(&client, &server, "Disk drill").await;
    let filler = disk.fill();

    // Writes on a full disk: acknowledged (then searchable) or refused with 503, never
    // a 500 and never a hang.
    let writers = start_writers(&server.base, &org, 2, true);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let during = writers.finish().await;
    assert!(during.failures.is_empty(), "{:?}", during.failures);
    let log = server.log_text();
    assert!(
        log.contains("No space left on device") || log.contains("disk is full"),
        "the log says why: {log}"
    );

    std::fs::remove_file(filler).unwrap();
    let after = start_writers(&server.base, &org, 2, false);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let after = after.finish().await;
    assert!(!after.created.is_empty(), "writes go on once there is room");
    every_write_is_there(&client, &server, &during).await;
    every_write_is_there(&client, &server, &after).await;

    // The index on disk is whole: a stop and start use it (or rebuild it) and agree.
    assert!(server.terminate().await.success(), "{}", server.log_text());
    let server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    every_write_is_there(&client, &server, &during).await;
    let records = search_agrees_with_database(&client, &server).await;
    eprintln!(
        "full disk: {} writes acknowledged and {} refused with 503 while full, {} after; {records} records = documents after restart",
        during.created.len(),
        during.refused,
        after.created.len()
    );
}

#[tokio::test]
async fn a_read_only_index_folder_is_refused_clearly_and_left_as_it_was() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let Some(disk) = SmallDisk::mount(&dir.path().join("disk"), 64) else {
        return;
    };
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let index = disk.0.join("index");
    let client = client();
    let mut server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    let found = get_json(&client, server.url("/v1/search?q=debt&limit=1")).await;
    let id = found["hits"][0]["service"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = capacity(&client, &server, &id, 11).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    assert!(server.terminate().await.success());
    let current = std::fs::read_to_string(index.join("CURRENT")).unwrap();

    // Starting on a read-only folder: a clear error and a failed exit, nothing changed.
    disk.remount("ro");
    let mut refused = Server::spawn(&db, &index, dir.path().join("log-ro"), &["--demo"]);
    let status = refused.wait_exit(Duration::from_secs(60)).await;
    let said = refused.log_text();
    assert!(!status.success(), "{said}");
    assert!(
        said.contains("Read-only file system") && said.contains("index"),
        "{said}"
    );
    disk.remount("rw");
    assert_eq!(
        std::fs::read_to_string(index.join("CURRENT")).unwrap(),
        current
    );
    let server = Server::start(&db, &index, dir.path().join("log"), &["--demo"]).await;
    let hit = found_by_search(&server, "debt&accepting=waitlist", &id).await;
    assert_eq!(hit["service"]["capacity"]["waiting_weeks"], 11);
    search_agrees_with_database(&client, &server).await;
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_a_new_server() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("db.sqlite").display());
    let client = client();
    let server = Server::start(
        &db,
        &dir.path().join("index"),
        dir.path().join("log"),
        &["--demo"],
    )
    .await;
    let org = create_organization(&client, &server, "Backup drill").await;
    let writers = start_writers(&server.base, &org, 2, false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let copy = dir.path().join("backup.sqlite");
    let backup = std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(["--database-url", &db, "backup"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    let done = writers.finish().await;
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_signpost"))
        .args(["--database-url", &db, "backup"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );

    // Restore: a new server on the copy, with no index, rebuilds it and serves the copy.
    let restored_db = format!("sqlite://{}", copy.display());
    let restored = Server::start(
        &restored_db,
        &dir.path().join("restored-index"),
        dir.path().join("log-restored"),
        &[],
    )
    .await;
    let records = search_agrees_with_database(&client, &restored).await;
    let present = all_services(&client, &restored).await;
    let kept = done
        .created
        .iter()
        .filter(|(id, _)| present.contains_key(id))
        .count();
    assert!(kept > 0, "the copy holds the writes made before it");
    assert!(
        records > 300,
        "the demo directory is in the copy: {records}"
    );
    eprintln!(
        "backup: {records} services in the copy ({kept} of {} drill writes made before and during it); restored server's search agrees",
        done.created.len()
    );
}
