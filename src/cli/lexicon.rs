//! `signpost lexicon add | list | understand`.

use super::*;

/// Adds, lists or tries out lexicon entries.
pub(super) async fn lexicon(
    storage: &StorageArgs,
    command: LexiconCommand,
) -> anyhow::Result<ExitCode> {
    match command {
        LexiconCommand::Add {
            need,
            confidence,
            phrase,
        } => {
            let store = open_store(&storage.database_url).await?;
            let input = LexiconInput {
                need,
                phrase,
                confidence,
            };
            let entry = store_lexicon_entry(&store, input, &Principal::system("cli"))
                .await
                .map_err(plain)?;
            eprintln!(
                "added {}: \"{}\" means {} (confidence {})",
                entry.id, entry.phrase, entry.need, entry.confidence
            );
        }
        LexiconCommand::List => {
            let store = open_store(&storage.database_url).await?;
            let lexicon = Lexicon::new(&store.lexicon_entries().await?)?;
            eprintln!(
                "{} phrases, {} wordings in the lexicon (the shipped files and the entries below)",
                lexicon.phrase_count(),
                lexicon.wording_count()
            );
            for e in store.stored_lexicon_entries().await? {
                println!(
                    "{}  {:<20} {:.2}  {}  ({} by {})",
                    e.id, e.need, e.confidence, e.phrase, e.created_at, e.created_by
                );
            }
        }
        LexiconCommand::Understand { question } => {
            let store = open_store(&storage.database_url).await?;
            let lexicon = Lexicon::new(&store.lexicon_entries().await?)?;
            let words = normalise(&question);
            let u = understand(&lexicon, &words);
            if !u.risk.is_empty() {
                println!("RISK: {}", u.risk.join("; "));
            }
            let model = crate::understand::risk_model::RiskModel::built_in().score(&words);
            println!(
                "risk model: {:.2} (raises at {:.2}; weighed most: {})",
                model.probability,
                crate::understand::risk_model::THRESHOLD,
                model.words.join(", ")
            );
            for n in &u.needs {
                println!(
                    "{:<22} {:.2}  ({})",
                    n.id,
                    n.confidence,
                    n.because.join("; ")
                );
            }
            for l in &u.languages {
                println!("language {} ({})", l.code, l.words);
            }
            if u.needs.is_empty() && u.risk.is_empty() && u.languages.is_empty() {
                println!("no need understood: search will look for the words themselves");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
