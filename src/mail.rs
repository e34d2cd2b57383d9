//! Sending email: through an SMTP server (lettre), or into a folder as `.eml` files for a
//! dry run. Nothing is sent when neither is configured.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SmtpSecurity {
    /// Plain connection (a relay on the same host or network only).
    None,
    /// Plain, then upgraded with STARTTLS (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
}

/// The SMTP server reminders are sent through.
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    /// The server's host name, which its TLS certificate must also name.
    pub host: String,
    /// The server's port, e.g. 587 for STARTTLS or 465 for TLS.
    pub port: u16,
    /// How the connection is protected.
    pub security: SmtpSecurity,
    /// User name to log in with; logs in only when a password is given too.
    pub username: Option<String>,
    /// Password to log in with; logs in only when a user name is given too.
    pub password: Option<String>,
    /// How long the server may take to answer before sending fails.
    pub timeout: Duration,
}

/// One email, with plain-text and HTML bodies.
pub struct Email {
    /// (name, address)
    pub to: Vec<(String, String)>,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The same message as HTML, for mail programs that show it.
    pub html: String,
}

/// Where email goes.
pub enum Mailer {
    /// Sent through an SMTP server.
    Smtp {
        /// The client for the server, which keeps a pool of connections.
        transport: AsyncSmtpTransport<Tokio1Executor>,
        /// Who the emails come from (replies go there).
        from: Mailbox,
    },
    /// A dry run: each email written to this folder.
    Folder {
        /// The folder each email is written into, as an `.eml` file.
        dir: PathBuf,
        /// Who the emails say they come from.
        from: Mailbox,
    },
}

impl Mailer {
    /// A mailer that sends through this SMTP server, from `from`.
    pub fn smtp(settings: &SmtpSettings, from: &str) -> anyhow::Result<Self> {
        crate::links::checker::install_tls_provider();
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("the from address {from:?}: {e}"))?;
        let tls = |required: bool| -> anyhow::Result<Tls> {
            let params = TlsParameters::new(settings.host.clone())?;
            Ok(if required {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            })
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(settings.host.as_str())
                .port(settings.port)
                .timeout(Some(settings.timeout));
        builder = match settings.security {
            SmtpSecurity::None => builder.tls(Tls::None),
            SmtpSecurity::Starttls => builder.tls(tls(false)?),
            SmtpSecurity::Tls => builder.tls(tls(true)?),
        };
        if let (Some(u), Some(p)) = (&settings.username, &settings.password) {
            builder = builder.credentials(Credentials::new(u.clone(), p.clone()));
        }
        Ok(Mailer::Smtp {
            transport: builder.build(),
            from,
        })
    }

    /// A mailer that writes each email as an `.eml` file into `dir` (a dry run).
    pub fn folder(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        let from: Mailbox = from
            .parse()
            .map_err(|e| anyhow::anyhow!("the from address {from:?}: {e}"))?;
        Ok(Mailer::Folder { dir, from })
    }

    /// True when emails go to a folder, not to anyone.
    pub fn is_dry_run(&self) -> bool {
        matches!(self, Mailer::Folder { .. })
    }

    /// Sends (or writes) one email; the error says why it could not go.
    pub async fn send(&self, email: &Email) -> Result<(), String> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Folder { from, .. } => from.clone(),
        };
        let mut builder = Message::builder().from(from).subject(&email.subject);
        for (name, address) in &email.to {
            let mailbox = Mailbox::new(
                Some(name.clone()),
                address
                    .parse()
                    .map_err(|e| format!("{address} is not an email address: {e}"))?,
            );
            builder = builder.to(mailbox);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.clone(),
                email.html.clone(),
            ))
            .map_err(|e| format!("the email could not be put together: {e}"))?;
        match self {
            Mailer::Smtp { transport, .. } => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| format!("the mail server refused or could not be reached: {e}")),
            Mailer::Folder { dir, .. } => {
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S"),
                    uuid::Uuid::now_v7().simple()
                );
                std::fs::write(dir.join(name), message.formatted())
                    .map_err(|e| format!("writing the email to {}: {e}", dir.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_dry_run_writes_each_email_to_the_folder_with_both_bodies() {
        let dir = tempfile::tempdir().unwrap();
        let mailer =
            Mailer::folder(dir.path().join("out"), "signpost <signpost@example.org>").unwrap();
        assert!(mailer.is_dry_run());
        let email = Email {
            to: vec![("Sam Keeper".into(), "sam@example.org".into())],
            subject: "Please check your entries".into(),
            text: "Hello Sam".into(),
            html: "<p>Hello <b>Sam</b></p>".into(),
        };
        mailer.send(&email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("out")).unwrap().collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
        assert!(
            text.contains("To: \"Sam Keeper\" <sam@example.org>"),
            "{text}"
        );
        assert!(
            text.contains("text/plain") && text.contains("text/html"),
            "{text}"
        );
        let bad = Email {
            to: vec![("x".into(), "not an address".into())],
            ..email
        };
        assert!(
            mailer
                .send(&bad)
                .await
                .unwrap_err()
                .contains("not an email address")
        );
    }
}
