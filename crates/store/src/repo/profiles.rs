use rusqlite::{params, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

use super::json_column;
use crate::{now_ms, Result, Store};

/// A lexical signature row: queryable copy of one entry of the profile's JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LexicalSignatureRow {
    pub term: String,
    pub n: i64,
    pub pmi: f64,
    pub count: i64,
    pub rate_per_1k: f64,
    pub catchphrase: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GrammarRuleRow {
    pub rule: String,
    pub gloss: Option<String>,
    pub log_odds: f64,
    pub z: f64,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PragmaticTraitRow {
    pub name: String,
    pub value: f64,
    pub background: f64,
    pub z_or_ratio: f64,
}

/// A style profile as written: the full versioned JSON plus the ranked rows that SQL queries need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProfile {
    pub schema_version: i64,
    pub line_count: i64,
    pub token_count: i64,
    pub profile_json: serde_json::Value,
    pub lexical: Vec<LexicalSignatureRow>,
    pub rules: Vec<GrammarRuleRow>,
    pub traits: Vec<PragmaticTraitRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileRecord {
    pub id: i64,
    pub persona_id: i64,
    /// 1 for the first profile of a persona; each re-analysis adds the next version, keeping the old.
    pub version: i64,
    pub schema_version: i64,
    pub line_count: i64,
    pub token_count: i64,
    pub profile_json: serde_json::Value,
    pub created_at: i64,
}

pub(crate) fn insert_profile(
    tx: &Transaction<'_>,
    persona_id: i64,
    p: &NewProfile,
) -> Result<ProfileRecord> {
    let version: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) + 1 FROM style_profiles WHERE persona_id = ?1",
        [persona_id],
        |r| r.get(0),
    )?;
    let now = now_ms();
    tx.execute(
        "INSERT INTO style_profiles (persona_id, version, schema_version, line_count, token_count, profile_json, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![persona_id, version, p.schema_version, p.line_count, p.token_count, serde_json::to_string(&p.profile_json)?, now],
    )?;
    let id = tx.last_insert_rowid();
    let mut lex = tx.prepare(
        "INSERT INTO lexical_signatures (profile_id, rank, term, n, pmi, count, rate_per_1k, catchphrase) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    let (mut plain_rank, mut phrase_rank) = (0i64, 0i64);
    for s in &p.lexical {
        let rank = if s.catchphrase {
            &mut phrase_rank
        } else {
            &mut plain_rank
        };
        lex.execute(params![
            id,
            *rank,
            s.term,
            s.n,
            s.pmi,
            s.count,
            s.rate_per_1k,
            s.catchphrase
        ])?;
        *rank += 1;
    }
    let mut rules = tx.prepare(
        "INSERT INTO grammar_rules (profile_id, rank, rule, gloss, log_odds, z, count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (rank, r) in p.rules.iter().enumerate() {
        rules.execute(params![
            id,
            rank as i64,
            r.rule,
            r.gloss,
            r.log_odds,
            r.z,
            r.count
        ])?;
    }
    let mut traits = tx.prepare(
        "INSERT INTO pragmatic_traits (profile_id, name, value, background, z_or_ratio) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for t in &p.traits {
        traits.execute(params![id, t.name, t.value, t.background, t.z_or_ratio])?;
    }
    Ok(ProfileRecord {
        id,
        persona_id,
        version,
        schema_version: p.schema_version,
        line_count: p.line_count,
        token_count: p.token_count,
        profile_json: p.profile_json.clone(),
        created_at: now,
    })
}

const COLUMNS: &str =
    "id, persona_id, version, schema_version, line_count, token_count, profile_json, created_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ProfileRecord, String)> {
    Ok((
        ProfileRecord {
            id: r.get(0)?,
            persona_id: r.get(1)?,
            version: r.get(2)?,
            schema_version: r.get(3)?,
            line_count: r.get(4)?,
            token_count: r.get(5)?,
            profile_json: serde_json::Value::Null,
            created_at: r.get(7)?,
        },
        r.get(6)?,
    ))
}

fn finish((mut rec, json): (ProfileRecord, String)) -> Result<ProfileRecord> {
    rec.profile_json = json_column("style_profiles.profile_json", &json)?;
    Ok(rec)
}

impl Store {
    /// Adds a new profile version for the persona; older versions stay.
    pub fn add_profile(&mut self, persona_id: i64, profile: &NewProfile) -> Result<ProfileRecord> {
        let tx = self.conn.transaction()?;
        let rec = insert_profile(&tx, persona_id, profile)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Appends script lines and the profile computed over all lines, atomically (a re-import).
    pub fn add_lines_and_profile(
        &mut self,
        persona_id: i64,
        lines: &[crate::NewScriptLine],
        profile: &NewProfile,
    ) -> Result<ProfileRecord> {
        let tx = self.conn.transaction()?;
        crate::repo::script_lines::insert_lines(&tx, persona_id, lines)?;
        let rec = insert_profile(&tx, persona_id, profile)?;
        tx.commit()?;
        Ok(rec)
    }

    /// Adds `profile` as the persona's next version only while its newest profile was written by an
    /// older analyzer (a lower `schema_version`), checked and written in one transaction: a re-import
    /// or another process that stored a current profile first wins, and nothing is added twice.
    pub fn add_profile_if_behind(
        &mut self,
        persona_id: i64,
        profile: &NewProfile,
    ) -> Result<Option<ProfileRecord>> {
        let tx = self.conn.transaction()?;
        let newest: Option<i64> = tx
            .query_row(
                "SELECT schema_version FROM style_profiles WHERE persona_id = ?1 ORDER BY version DESC LIMIT 1",
                [persona_id],
                |r| r.get(0),
            )
            .optional()?;
        if newest.is_some_and(|v| v >= profile.schema_version) {
            return Ok(None);
        }
        let rec = insert_profile(&tx, persona_id, profile)?;
        tx.commit()?;
        Ok(Some(rec))
    }

    /// The personas whose newest profile an analyzer older than `version` wrote, with that profile's
    /// schema version, by id. Personas without script lines are left out: a card import brings a
    /// profile but not the script behind it, so there is nothing to analyse again.
    pub fn personas_with_profile_before(&self, version: i64) -> Result<Vec<(i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.persona_id, s.schema_version FROM style_profiles s \
             WHERE s.version = (SELECT max(version) FROM style_profiles WHERE persona_id = s.persona_id) \
               AND s.schema_version < ?1 \
               AND EXISTS (SELECT 1 FROM script_lines l WHERE l.persona_id = s.persona_id) \
             ORDER BY s.persona_id",
        )?;
        let rows = stmt.query_map([version], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn latest_profile(&self, persona_id: i64) -> Result<Option<ProfileRecord>> {
        let row = self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM style_profiles WHERE persona_id = ?1 ORDER BY version DESC LIMIT 1"),
                [persona_id],
                from_row,
            )
            .optional()?;
        row.map(finish).transpose()
    }

    /// Every version of the persona's profile, oldest first.
    pub fn profile_versions(&self, persona_id: i64) -> Result<Vec<ProfileRecord>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {COLUMNS} FROM style_profiles WHERE persona_id = ?1 ORDER BY version"
        ))?;
        let rows = stmt
            .query_map([persona_id], from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(finish).collect()
    }

    /// The top lexical signatures of a profile (catchphrases excluded), best first.
    pub fn lexical_signatures(
        &self,
        profile_id: i64,
        limit: i64,
    ) -> Result<Vec<LexicalSignatureRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT term, n, pmi, count, rate_per_1k, catchphrase FROM lexical_signatures \
             WHERE profile_id = ?1 ORDER BY catchphrase, rank LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![profile_id, limit], |r| {
            Ok(LexicalSignatureRow {
                term: r.get(0)?,
                n: r.get(1)?,
                pmi: r.get(2)?,
                count: r.get(3)?,
                rate_per_1k: r.get(4)?,
                catchphrase: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn grammar_rules(&self, profile_id: i64, limit: i64) -> Result<Vec<GrammarRuleRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT rule, gloss, log_odds, z, count FROM grammar_rules WHERE profile_id = ?1 ORDER BY rank LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![profile_id, limit], |r| {
            Ok(GrammarRuleRow {
                rule: r.get(0)?,
                gloss: r.get(1)?,
                log_odds: r.get(2)?,
                z: r.get(3)?,
                count: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn pragmatic_traits(&self, profile_id: i64) -> Result<Vec<PragmaticTraitRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT name, value, background, z_or_ratio FROM pragmatic_traits WHERE profile_id = ?1 ORDER BY name",
        )?;
        let rows = stmt.query_map([profile_id], |r| {
            Ok(PragmaticTraitRow {
                name: r.get(0)?,
                value: r.get(1)?,
                background: r.get(2)?,
                z_or_ratio: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};
    use crate::NewScriptLine;

    fn profile(lines: i64, top_term: &str) -> NewProfile {
        NewProfile {
            schema_version: 1,
            line_count: lines,
            token_count: lines * 9,
            profile_json: serde_json::json!({"schemaVersion": 1, "top": top_term}),
            lexical: vec![
                LexicalSignatureRow {
                    term: top_term.into(),
                    n: 1,
                    pmi: 6.5,
                    count: 40,
                    rate_per_1k: 12.0,
                    catchphrase: false,
                },
                LexicalSignatureRow {
                    term: "baka".into(),
                    n: 1,
                    pmi: 5.0,
                    count: 20,
                    rate_per_1k: 6.0,
                    catchphrase: false,
                },
                LexicalSignatureRow {
                    term: "it's not like".into(),
                    n: 3,
                    pmi: 4.0,
                    count: 9,
                    rate_per_1k: 2.5,
                    catchphrase: true,
                },
            ],
            rules: vec![GrammarRuleRow {
                rule: "S -> VP .".into(),
                gloss: Some("imperative".into()),
                log_odds: 3.2,
                z: 4.1,
                count: 77,
            }],
            traits: vec![PragmaticTraitRow {
                name: "stutter_rate".into(),
                value: 0.08,
                background: 0.002,
                z_or_ratio: 40.0,
            }],
        }
    }

    #[test]
    fn profiles_are_versioned_and_old_versions_kept() {
        let (_dir, mut store) = open_temp();
        let id = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let v1 = store.add_profile(id, &profile(300, "hmph")).unwrap();
        let extra = vec![NewScriptLine {
            line_no: 900,
            text: "Hmph!".into(),
            context_speaker: None,
            context_text: None,
        }];
        let v2 = store
            .add_lines_and_profile(id, &extra, &profile(301, "blade"))
            .unwrap();
        assert_eq!((v1.version, v2.version), (1, 2));
        let versions = store.profile_versions(id).unwrap();
        assert_eq!(
            versions.iter().map(|p| p.line_count).collect::<Vec<_>>(),
            vec![300, 301]
        );
        let latest = store.latest_profile(id).unwrap().unwrap();
        assert_eq!(latest.profile_json["top"], "blade");
        assert_eq!(store.script_line_count(id).unwrap(), 1);
    }

    #[test]
    fn only_personas_behind_the_analyzer_with_lines_are_listed_and_caught_up_once() {
        let (_dir, mut store) = open_temp();
        let line = NewScriptLine {
            line_no: 1,
            text: "Hmph!".into(),
            context_speaker: None,
            context_text: None,
        };
        let old = profile(300, "hmph"); // schema_version 1
        let mut current = profile(300, "blade");
        current.schema_version = 2;
        let behind = store
            .insert_persona(
                &sample_card("behind"),
                std::slice::from_ref(&line),
                Some(&old),
            )
            .unwrap();
        let no_lines = store
            .insert_persona(&sample_card("card"), &[], Some(&old))
            .unwrap();
        let caught_up = store
            .insert_persona(&sample_card("new"), &[line], Some(&old))
            .unwrap();
        store.add_profile(caught_up, &current).unwrap();
        assert_eq!(
            store.personas_with_profile_before(2).unwrap(),
            [(behind, 1)]
        );
        assert!(store.personas_with_profile_before(1).unwrap().is_empty());

        let added = store.add_profile_if_behind(behind, &current).unwrap();
        assert_eq!(added.map(|p| (p.version, p.schema_version)), Some((2, 2)));
        assert_eq!(store.add_profile_if_behind(behind, &current).unwrap(), None);
        assert_eq!(store.profile_versions(behind).unwrap().len(), 2);
        assert!(store.personas_with_profile_before(2).unwrap().is_empty());
        assert_eq!(store.profile_versions(no_lines).unwrap().len(), 1);
    }

    #[test]
    fn rows_are_queryable_by_rank() {
        let (_dir, mut store) = open_temp();
        let id = store.insert_persona(&sample_card("t"), &[], None).unwrap();
        let rec = store.add_profile(id, &profile(300, "hmph")).unwrap();
        let lex = store.lexical_signatures(rec.id, 10).unwrap();
        assert_eq!(
            lex.iter().map(|s| s.term.as_str()).collect::<Vec<_>>(),
            vec!["hmph", "baka", "it's not like"]
        );
        assert_eq!(
            store.grammar_rules(rec.id, 5).unwrap()[0].gloss.as_deref(),
            Some("imperative")
        );
        assert_eq!(
            store.pragmatic_traits(rec.id).unwrap()[0].name,
            "stutter_rate"
        );
        // SQL can answer questions across personas, e.g. who over-uses a trait most.
        let top: String = store
            .conn
            .query_row(
                "SELECT p.slug FROM pragmatic_traits t JOIN style_profiles s ON s.id = t.profile_id \
                 JOIN personas p ON p.id = s.persona_id WHERE t.name = 'stutter_rate' ORDER BY t.z_or_ratio DESC",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(top, "t");
    }
}
