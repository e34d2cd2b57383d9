//! `signpost keys create | list | revoke`.

use super::*;

/// Creates, lists or revokes API keys.
pub(super) async fn keys(storage: &StorageArgs, keys: KeysCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&storage.database_url).await?;
    match keys {
        KeysCommand::Create {
            name,
            role,
            organization,
            expires_days,
        } => {
            let input = KeyInput {
                name: Name::parse(&name).map_err(anyhow::Error::msg)?,
                role,
                organization_id: organization,
                expires_in_days: expires_days,
            };
            let (key, secret) = issue_key(&store, input).await.map_err(plain)?;
            eprintln!(
                "created {} ({}, {}); the secret is shown only now:",
                key.id,
                key.role.as_str(),
                key.name
            );
            println!("{secret}");
        }
        KeysCommand::List => {
            for k in store.list_keys().await? {
                let state = match k.refusal(chrono::Utc::now()) {
                    Some(why) => why.trim_start_matches("this API key has "),
                    None => "active",
                };
                println!(
                    "{}  {:<9} {:<8} {}  {}",
                    k.id,
                    k.role.as_str(),
                    state,
                    k.organization_id.map(|o| o.to_string()).unwrap_or_default(),
                    k.name
                );
            }
        }
        KeysCommand::Revoke { id } => {
            anyhow::ensure!(
                store.revoke_key(&id, chrono::Utc::now()).await?,
                "there is no key '{id}'"
            );
            eprintln!("revoked {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
