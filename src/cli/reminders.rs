//! `signpost reminders run`.

use super::*;

/// Sends the reminders that are due now.
pub(super) async fn reminders(
    storage: &StorageArgs,
    command: RemindersCommand,
) -> anyhow::Result<ExitCode> {
    let RemindersCommand::Run { dry_run, mail } = command;
    let Some(mailer) = mail.mailer(dry_run)? else {
        anyhow::bail!(
            "say where reminders go: --smtp-host (or SIGNPOST_SMTP_HOST), or --dry-run FOLDER"
        );
    };
    let directory = offline_directory(storage, "it sends on its schedule").await?;
    let holder = format!("cli-{}", std::process::id());
    let report = directory
        .run_reminders(&mailer, &mail.reminder_settings(), &holder)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    directory.close().await;
    let Some(r) = report else {
        anyhow::bail!("another process is sending reminders right now; try again later");
    };
    println!(
        "{} organisations due: {} sent, {} written, {} failed (tried again next run), {} reminded too recently, {} escalated; {} services; {:.1}s",
        r.organizations_due,
        r.sent,
        r.written,
        r.failed,
        r.too_soon,
        r.escalated,
        r.services,
        r.seconds
    );
    if r.failed > 0 {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
