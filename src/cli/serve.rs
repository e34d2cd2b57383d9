//! `signpost serve`: the settings from the command line, then the server until it stops.

use super::*;

/// Runs the HTTP service until it is asked to stop.
pub(super) async fn serve(
    args: ServeArgs,
    storage: StorageArgs,
    retention: &RetentionArgs,
) -> anyhow::Result<ExitCode> {
    let settings = Settings {
        bind: args.bind,
        database_url: storage.database_url,
        index_dir: storage.index_dir,
        demo: args.demo,
        geo_dir: Some(args.geo_dir),
        admin_key: args.admin_key,
        workers: args.workers,
        reopen_every: std::time::Duration::from_secs(3600),
        retention: retention.retention(),
        limits: crate::api::limits::LimitSettings {
            per_address_per_minute: args.rate_limit_per_minute,
            per_key_per_minute: args.key_rate_limit_per_minute,
            trusted_proxies: args.trusted_proxy,
        },
        link_check: match args.link_check_cron.as_deref() {
            Some("off") => None,
            None if args.demo => None,
            cron => Some(cron.unwrap_or("0 0 3 * * *").to_string()),
        }
        .map(|cron| LinkCheckSettings {
            cron,
            spread_days: args.links.spread_days,
            check: args.links.check_settings(),
            policy: LinkPolicy::default(),
        }),
        reminders: match args.mail.mailer(None)? {
            Some(mailer) if !args.demo && args.reminder_cron != "off" => {
                Some(ReminderJobSettings {
                    cron: args.reminder_cron.clone(),
                    reminders: args.mail.reminder_settings(),
                    mailer: std::sync::Arc::new(mailer),
                })
            }
            _ => None,
        },
        source_pull: (args.source_pull_cron != "off").then(|| SourcePullSettings {
            cron: args.source_pull_cron.clone(),
            pull: args.pull.pull_settings(),
        }),
        search: SearchSettings {
            poll_interval: std::time::Duration::from_millis(args.poll_ms.max(50)),
            commit_patches_within: std::time::Duration::from_secs(args.commit_patches_seconds),
            capacity_stale_after: chrono::Duration::days(args.capacity_stale_days),
            verify_stale_after: chrono::Duration::days(args.verify_stale_days),
            max_concurrent_searches: match args.max_searches {
                0 => SearchSettings::default().max_concurrent_searches,
                n => n,
            },
            crisis_contacts: match &args.crisis_contacts {
                Some(path) => read_crisis_contacts(path)?,
                None => default_crisis_contacts(),
            },
            gap_min_count: args.gap_min_count,
        },
    };
    let app = Application::build(settings.clone()).await?;
    tracing::info!(
        "signpost listening on http://{}:{} (database {}, index {})",
        settings
            .bind
            .rsplit_once(':')
            .map_or("127.0.0.1", |(h, _)| h),
        app.port(),
        app.directory.backend_name(),
        settings.index_dir.display()
    );
    if settings.admin_key.is_none() {
        tracing::warn!("no --admin-key given: the directory is read-only");
    }
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the crisis contacts file given to `serve`.
fn read_crisis_contacts(path: &std::path::Path) -> anyhow::Result<Vec<CrisisContact>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the crisis contacts {}", path.display()))?;
    let contacts: Vec<CrisisContact> = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: expected a JSON list of {{\"name\", \"phone\", \"when\"}}",
            path.display()
        )
    })?;
    anyhow::ensure!(
        !contacts.is_empty(),
        "{}: list at least one crisis contact",
        path.display()
    );
    Ok(contacts)
}
