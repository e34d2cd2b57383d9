//! How long reading a question with the lexicon takes: every question of the benchmark's
//! distinct mix (`bench/distinct-questions.tsv`), timed one by one after a warm-up round.
//! `cargo run --release --example understand_timing`
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let lexicon = signpost::understand::lexicon::Lexicon::built_in();
    let text = std::fs::read_to_string("bench/distinct-questions.tsv")?;
    let questions: Vec<Vec<String>> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .map(signpost::understand::normalise)
        .collect();
    for q in &questions {
        std::hint::black_box(signpost::understand::understand(&lexicon, q));
    }
    let mut times: Vec<(f64, usize)> = Vec::with_capacity(questions.len());
    for (i, q) in questions.iter().enumerate() {
        let t = Instant::now();
        std::hint::black_box(signpost::understand::understand(&lexicon, q));
        times.push((t.elapsed().as_secs_f64() * 1e3, i));
    }
    let n = times.len();
    let mean = times.iter().map(|t| t.0).sum::<f64>() / n as f64;
    times.sort_by(|a, b| a.0.total_cmp(&b.0));
    println!(
        "{n} questions: mean {mean:.3} ms, p50 {:.3}, p99 {:.3}, max {:.3}",
        times[n / 2].0,
        times[n * 99 / 100].0,
        times[n - 1].0
    );
    for (ms, i) in times.iter().rev().take(3) {
        println!("  {ms:.2} ms, {} words", questions[*i].len());
    }
    Ok(())
}
