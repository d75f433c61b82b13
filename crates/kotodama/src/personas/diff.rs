//! What changed between two versions of a persona's style profile (a re-import adds a version): the
//! lexical signatures and grammar rules that entered or left the top of the ranking or moved in it,
//! and the pragmatic traits whose value changed.

use std::collections::BTreeMap;

use serde::Serialize;

use super::page::{TOP_RULES, TOP_SIGNATURES};
use crate::{Error, Kotodama, Result};

/// One term, rule or trait in both versions; `None` where it is not in that version's ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProfileChange {
    pub key: String,
    /// The rule's gloss, when it has one.
    pub label: Option<String>,
    pub before: Option<f64>,
    pub after: Option<f64>,
}

impl ProfileChange {
    /// Entries that appeared or disappeared first, then the largest moves.
    fn weight(&self) -> f64 {
        match (self.before, self.after) {
            (Some(b), Some(a)) => (a - b).abs(),
            _ => f64::INFINITY,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ProfileDiff {
    pub from_version: i64,
    pub to_version: i64,
    pub line_counts: (i64, i64),
    /// PMI of the top signatures.
    pub signatures: Vec<ProfileChange>,
    /// Log-odds of the top rules.
    pub rules: Vec<ProfileChange>,
    /// Values of the traits that changed.
    pub traits: Vec<ProfileChange>,
}

/// Pairs two rankings by key; unchanged entries are left out.
fn changes(
    before: impl IntoIterator<Item = (String, Option<String>, f64)>,
    after: impl IntoIterator<Item = (String, Option<String>, f64)>,
) -> Vec<ProfileChange> {
    let mut by_key: BTreeMap<String, ProfileChange> = BTreeMap::new();
    for (key, label, value) in before {
        by_key.insert(
            key.clone(),
            ProfileChange {
                key,
                label,
                before: Some(value),
                after: None,
            },
        );
    }
    for (key, label, value) in after {
        let entry = by_key.entry(key.clone()).or_insert(ProfileChange {
            key,
            label: None,
            before: None,
            after: None,
        });
        entry.after = Some(value);
        entry.label = entry.label.take().or(label);
    }
    let mut out: Vec<ProfileChange> = by_key.into_values().filter(|c| c.weight() > 1e-9).collect();
    out.sort_by(|a, b| b.weight().total_cmp(&a.weight()).then(a.key.cmp(&b.key)));
    out
}

impl Kotodama {
    /// Compares two stored versions of the persona's profile.
    pub fn profile_diff(&self, persona_id: i64, from: i64, to: i64) -> Result<ProfileDiff> {
        let versions = self.store.profile_versions(persona_id)?;
        let find = |v: i64| {
            versions.iter().find(|p| p.version == v).ok_or_else(|| {
                Error::InvalidInput(format!("this persona has no profile version {v}"))
            })
        };
        let (a, b) = (find(from)?, find(to)?);
        let signatures = |id| -> Result<Vec<(String, Option<String>, f64)>> {
            Ok(self
                .store
                .lexical_signatures(id, TOP_SIGNATURES)?
                .into_iter()
                .map(|s| (s.term, None, s.pmi))
                .collect())
        };
        let rules = |id| -> Result<Vec<(String, Option<String>, f64)>> {
            Ok(self
                .store
                .grammar_rules(id, TOP_RULES)?
                .into_iter()
                .map(|r| (r.rule, r.gloss, r.log_odds))
                .collect())
        };
        // Traits are labelled by their plain-language gloss (names are ids, never shown).
        let language = self.style_profile(persona_id)?.language;
        let traits = |id| -> Result<Vec<(String, Option<String>, f64)>> {
            Ok(self
                .store
                .pragmatic_traits(id)?
                .into_iter()
                .map(|t| {
                    let gloss = kotodama_style::pragmatics::trait_def(language, &t.name)
                        .map(|d| d.gloss.to_string());
                    (t.name, gloss, t.value)
                })
                .collect())
        };
        Ok(ProfileDiff {
            from_version: from,
            to_version: to,
            line_counts: (a.line_count, b.line_count),
            signatures: changes(signatures(a.id)?, signatures(b.id)?),
            rules: changes(rules(a.id)?, rules(b.id)?),
            traits: changes(traits(a.id)?, traits(b.id)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Home, ScriptImport};

    #[test]
    fn changes_list_new_and_dropped_entries_first_then_the_largest_moves() {
        let e = |k: &str, v: f64| (k.to_string(), None, v);
        let out = changes(
            [
                e("same", 1.0),
                e("moved", 2.0),
                e("gone", 3.0),
                e("nudged", 1.0),
            ],
            [
                e("same", 1.0),
                e("moved", 0.5),
                e("new", 4.0),
                e("nudged", 1.1),
            ],
        );
        let keys: Vec<&str> = out.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["gone", "new", "moved", "nudged"]);
        assert_eq!((out[0].before, out[0].after), (Some(3.0), None));
        assert_eq!((out[1].before, out[1].after), (None, Some(4.0)));
    }

    #[test]
    fn a_reimport_shows_what_the_new_lines_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
        let calm: String = (0..120)
            .map(|i| format!("KAI: The river is quiet today, number {i}.\n"))
            .collect();
        let path = dir.path().join("kai.txt");
        std::fs::write(&path, &calm).unwrap();
        let (id, _) = app.import_file(&path, &ScriptImport::default()).unwrap();
        let loud: String = (0..120)
            .map(|i| format!("KAI: Nyaa~ what?! Sugoi, senpai, sugoi {i}!!\n"))
            .collect();
        let more = dir.path().join("kai-more.txt");
        std::fs::write(&more, &loud).unwrap();
        app.reimport_lines(id, &more, None, &Default::default())
            .unwrap();
        let diff = app.profile_diff(id, 1, 2).unwrap();
        assert_eq!((diff.from_version, diff.to_version), (1, 2));
        assert_eq!(diff.line_counts, (120, 240));
        assert!(
            diff.signatures
                .iter()
                .any(|c| c.key == "sugoi" && c.before.is_none() && c.after.is_some()),
            "{:?}",
            diff.signatures
        );
        let exclaim = diff
            .traits
            .iter()
            .find(|c| c.key == "exclamation_rate")
            .expect("the exclamation rate changed");
        assert!(exclaim.after > exclaim.before);
        assert_eq!(
            exclaim.label.as_deref(),
            Some("exclaims (ends sentences with \"!\")")
        );
        assert!(app.profile_diff(id, 1, 3).is_err());
    }
}
