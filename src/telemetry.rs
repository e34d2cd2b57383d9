//! Logs: human-readable by default, JSON with `SIGNPOST_LOG_FORMAT=json`; level from `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init(default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let json = std::env::var("SIGNPOST_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// A process's peak resident memory in MiB (`VmHWM`; `"self"` for this one), 0 where
/// `/proc` does not tell. For the benchmarks.
pub fn peak_rss_mib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Request latency buckets, in seconds: a search takes about a millisecond.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static METRICS: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
    std::sync::OnceLock::new();

/// The process's Prometheus recorder, installed the first time it is asked for.
pub fn metrics() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    METRICS.get_or_init(|| {
        let builder = metrics_exporter_prometheus::PrometheusBuilder::new();
        let recorder = builder
            .set_buckets(LATENCY_BUCKETS)
            .map(|b| b.build_recorder())
            .unwrap_or_else(|_| {
                metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder()
            });
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "another metrics recorder was installed first; /metrics shows only its own"
            );
        }
        handle
    })
}

/// Drains histogram samples into their buckets every few seconds, for ever.
pub async fn metrics_upkeep() {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        every.tick().await;
        metrics().run_upkeep();
    }
}
