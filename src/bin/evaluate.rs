//! Search quality, measured: runs an evaluation set of callers' questions over a directory
//! generated from service entries written in directories' words, and prints hit@5, P@5,
//! zero-result count, risk recall and false alarms.
//!
//! `cargo run --release --bin evaluate -- [--questions FILE] [--directory FILE]
//! [--boroughs N] [--failures]`
//!
//! Questions: one per line, `question<TAB>right categories (comma-separated, any one is
//! right)<TAB>risk (yes/no)`; `#` starts a comment. Directory: a JSON list of service
//! templates (`name`, `organization`, `categories`, `description`, `keywords`,
//! `delivery_modes`, `referral`, `languages`, `min_age`, `max_age`, `gender`), where
//! `{b}` in a name or organisation stands for a borough: such a template becomes one
//! service per borough, others one service.

use anyhow::Context;
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};
use signpost::search::{SearchIndex, SearchRequest, SearchSettings};
use signpost::storage::Store;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(about = "Measure search quality on an evaluation set")]
struct Args {
    #[arg(long, default_value = "tests/eval/questions.tsv")]
    questions: PathBuf,
    #[arg(long, default_value = "tests/eval/directory.json")]
    directory: PathBuf,
    /// Boroughs each local template is copied into.
    #[arg(long, default_value_t = 12)]
    boroughs: usize,
    /// Print every question that missed, with what came back.
    #[arg(long)]
    failures: bool,
    /// Instead of searching: five-fold cross validation of the risk model on its shipped
    /// examples, printing recall and false alarms per threshold.
    #[arg(long)]
    cross_validate: bool,
    /// Only run these questions, printing each hit with why it scored.
    #[arg(long)]
    explain: Vec<String>,
}

const BOROUGHS: &[&str] = &[
    "Bolton",
    "Bury",
    "Manchester",
    "Oldham",
    "Rochdale",
    "Salford",
    "Stockport",
    "Tameside",
    "Trafford",
    "Wigan",
    "Leeds",
    "Sheffield",
    "Bradford",
    "Kirklees",
    "Wakefield",
    "Calderdale",
];

#[derive(Debug, Deserialize)]
struct Template {
    name: String,
    organization: String,
    categories: Vec<String>,
    description: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    delivery_modes: Vec<String>,
    #[serde(default)]
    referral: Option<String>,
    #[serde(default)]
    languages: Vec<String>,
    min_age: Option<u8>,
    max_age: Option<u8>,
    #[serde(default)]
    gender: Option<String>,
}

struct Question {
    text: String,
    right: Vec<String>,
    risk: bool,
}

fn read_questions(path: &PathBuf) -> anyhow::Result<Vec<Question>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = line.split('\t').collect();
        anyhow::ensure!(
            parts.len() == 3,
            "{} line {}: expected question<TAB>categories<TAB>risk",
            path.display(),
            n + 1
        );
        out.push(Question {
            text: parts[0].trim().to_string(),
            right: parts[1].split(',').map(|c| c.trim().to_string()).collect(),
            risk: parts[2].trim() == "yes",
        });
    }
    Ok(out)
}

/// One service per borough for local templates, one for national ones; states vary as
/// real directories' do (a few closed for now, some on waiting lists).
fn generate(templates: &[Template], boroughs: usize) -> Vec<Value> {
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for (ti, t) in templates.iter().enumerate() {
        let local = t.name.contains("{b}") || t.organization.contains("{b}");
        let places: Vec<&str> = if local {
            BOROUGHS.iter().copied().take(boroughs.max(1)).collect()
        } else {
            vec![""]
        };
        for (bi, b) in places.iter().enumerate() {
            let n = out.len();
            let org = t.organization.replace("{b}", b);
            let name = if local && !t.name.contains("{b}") {
                format!("{} ({b})", t.name)
            } else {
                t.name.replace("{b}", b)
            };
            let status = if n % 29 == 7 {
                "temporarily_closed"
            } else {
                "active"
            };
            let capacity = match (ti + bi) % 5 {
                0 => {
                    json!({"accepting": "waitlist", "waiting_weeks": 4, "updated_at": now.to_rfc3339()})
                }
                _ => json!({"accepting": "open", "updated_at": now.to_rfc3339()}),
            };
            let mut svc = json!({
                "id": uuid::Uuid::from_u128(0xe7a1_0000_0000_7000_8000_0000_0000_0000u128 | n as u128),
                "organization": {
                    "id": uuid::Uuid::from_u128(0xe7a1_0000_0000_7000_8000_0001_0000_0000u128 | (ti * 100 + bi) as u128),
                    "name": org,
                },
                "name": name,
                "description": t.description.replace("{b}", b),
                "categories": t.categories,
                "keywords": t.keywords,
                "status": status,
                "delivery_modes": if t.delivery_modes.is_empty() { vec!["in_person".to_string()] } else { t.delivery_modes.clone() },
                "referral": {"route": t.referral.clone().unwrap_or_else(|| "self_referral".into())},
                "languages": if t.languages.is_empty() { vec!["en".to_string()] } else { t.languages.clone() },
                "gender": t.gender.clone().unwrap_or_else(|| "any".into()),
                "capacity": capacity,
                "assured_date": now.date_naive().to_string(),
                "coverage": {"include": [{"type": "national"}]},
            });
            if status == "temporarily_closed" {
                svc["temporary_closure"] = json!({"reason": "staff shortage", "reopens_on": (now + chrono::Duration::days(30)).date_naive().to_string()});
            }
            if let Some(a) = t.min_age {
                svc["minimum_age"] = json!(a);
            }
            if let Some(a) = t.max_age {
                svc["maximum_age"] = json!(a);
            }
            out.push(svc);
        }
    }
    out
}

#[derive(Default)]
struct Tally {
    questions: usize,
    hit5: usize,
    precision5: f64,
    zero: usize,
    risk: usize,
    risk_raised: usize,
    risk_crisis_first: usize,
    safe: usize,
    false_alarms: usize,
}

fn categories_of(hit: &signpost::search::Hit) -> Vec<String> {
    serde_json::from_str::<Value>(hit.service.get())
        .ok()
        .and_then(|v| {
            v.get("categories").and_then(|c| {
                c.as_array().map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
            })
        })
        .unwrap_or_default()
}

fn name_of(hit: &signpost::search::Hit) -> String {
    serde_json::from_str::<Value>(hit.service.get())
        .ok()
        .and_then(|v| v.get("name").and_then(|n| n.as_str().map(str::to_string)))
        .unwrap_or_default()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.cross_validate {
        use signpost::understand::risk_model::{cross_validate, shipped_examples};
        let examples = shipped_examples();
        let thresholds: Vec<f32> = (1..20).map(|t| t as f32 * 0.05).collect();
        println!(
            "threshold  recall  false alarms  ({} examples, 5 folds)",
            examples.len()
        );
        for (t, recall, false_alarms) in cross_validate(&examples, &thresholds) {
            println!(
                "{t:9.2}  {:5.1}%  {:11.1}%",
                recall * 100.0,
                false_alarms * 100.0
            );
        }
        return Ok(());
    }
    let questions = read_questions(&args.questions)?;
    let templates: Vec<Template> = serde_json::from_str(
        &std::fs::read_to_string(&args.directory)
            .with_context(|| format!("reading {}", args.directory.display()))?,
    )
    .context("the directory file")?;
    let services = generate(&templates, args.boroughs);
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("eval.db").display());
    let store = Arc::new(Store::connect(&url).await?);
    store.migrate().await?;
    let mut ndjson = Vec::new();
    for s in &services {
        writeln!(ndjson, "{s}")?;
    }
    let report =
        signpost::ndjson::import(&store, std::io::Cursor::new(ndjson), None, false).await?;
    anyhow::ensure!(
        report.rejected.is_empty(),
        "generated services rejected: {:?}",
        report.rejected.iter().take(3).collect::<Vec<_>>()
    );
    let index = SearchIndex::open(
        &dir.path().join("index"),
        store.clone(),
        SearchSettings::default(),
    )
    .await?;
    if !args.explain.is_empty() {
        for q in &args.explain {
            let request = SearchRequest {
                q: q.clone(),
                limit: 8,
                explain: true,
                ..SearchRequest::default()
            };
            let r = index.search_now(&request, chrono::Utc::now())?;
            println!(
                "{q:?}: total {} match {:?} understood {}",
                r.total,
                r.match_kind.map(|m| m.as_str()),
                serde_json::to_string(&r.understood)?
            );
            for h in &r.hits {
                println!(
                    "  {:.2} {} [{}] {}",
                    h.score,
                    name_of(h),
                    categories_of(h).join(","),
                    serde_json::to_string(&h.explain)?
                );
            }
        }
        index.shutdown().await;
        return Ok(());
    }
    let mut t = Tally::default();
    let started = std::time::Instant::now();
    for q in &questions {
        let request = SearchRequest {
            q: q.text.clone(),
            limit: 5,
            filters: signpost::search::query::Filters {
                statuses: vec![
                    signpost::domain::ServiceStatus::Active,
                    signpost::domain::ServiceStatus::TemporarilyClosed,
                ],
                ..Default::default()
            },
            ..SearchRequest::default()
        };
        let r = index.search_now(&request, chrono::Utc::now())?;
        let cats: Vec<Vec<String>> = r.hits.iter().map(categories_of).collect();
        let right = |c: &Vec<String>| c.iter().any(|x| q.right.contains(x));
        let rights = cats.iter().filter(|c| right(c)).count();
        t.questions += 1;
        if rights > 0 {
            t.hit5 += 1;
        }
        t.precision5 += rights as f64 / 5.0;
        if r.hits.is_empty() {
            t.zero += 1;
        }
        let raised = r.risk.is_some();
        let crisis_first = cats
            .first()
            .is_some_and(|c| c.iter().any(|x| x == "crisis"));
        if q.risk {
            t.risk += 1;
            t.risk_raised += usize::from(raised);
            t.risk_crisis_first += usize::from(raised && crisis_first);
        } else {
            t.safe += 1;
            t.false_alarms += usize::from(raised);
        }
        let missed = rights == 0 || (q.risk && !(raised && crisis_first)) || (!q.risk && raised);
        if args.failures && missed {
            println!(
                "MISS {:?} (want {}{}) match={:?} needs={:?}{}",
                q.text,
                q.right.join(","),
                if q.risk { ", risk" } else { "" },
                r.match_kind.map(|m| m.as_str()),
                r.understood
                    .as_ref()
                    .map(|u| u.needs.iter().map(|n| n.id.clone()).collect::<Vec<_>>())
                    .unwrap_or_default(),
                if raised { " RISK" } else { "" }
            );
            for (h, c) in r.hits.iter().zip(&cats) {
                println!("    {} [{}]", name_of(h), c.join(","));
            }
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "directory: {} services from {} templates; {} questions ({} risk) in {:.2}s",
        services.len(),
        templates.len(),
        t.questions,
        t.risk,
        started.elapsed().as_secs_f64()
    );
    println!(
        "hit@5 {:.1}% ({}/{})",
        pct(t.hit5, t.questions),
        t.hit5,
        t.questions
    );
    println!("P@5 {:.3}", t.precision5 / t.questions.max(1) as f64);
    println!("zero results {}", t.zero);
    println!(
        "risk recall {:.1}% ({}/{}), with a crisis service first {:.1}% ({}/{})",
        pct(t.risk_raised, t.risk),
        t.risk_raised,
        t.risk,
        pct(t.risk_crisis_first, t.risk),
        t.risk_crisis_first,
        t.risk
    );
    println!(
        "false alarms {:.1}% ({}/{} questions without risk)",
        pct(t.false_alarms, t.safe),
        t.false_alarms,
        t.safe
    );
    index.shutdown().await;
    Ok(())
}
