use rusqlite::{params, Transaction};
use serde::{Deserialize, Serialize};

use crate::{Result, Store};

/// One line the character speaks in its script, with the turn before it (the prompt side of training data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewScriptLine {
    /// Line number in the source file, for error messages and provenance.
    pub line_no: i64,
    pub text: String,
    pub context_speaker: Option<String>,
    pub context_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScriptLine {
    pub id: i64,
    pub seq: i64,
    #[serde(flatten)]
    pub line: NewScriptLine,
}

/// Appends lines after the persona's last one (re-imports add lines; they never renumber old ones).
pub(crate) fn insert_lines(
    tx: &Transaction<'_>,
    persona_id: i64,
    lines: &[NewScriptLine],
) -> Result<()> {
    let next: i64 = tx.query_row(
        "SELECT coalesce(max(seq), -1) + 1 FROM script_lines WHERE persona_id = ?1",
        [persona_id],
        |r| r.get(0),
    )?;
    let mut stmt = tx.prepare(
        "INSERT INTO script_lines (persona_id, seq, line_no, text, context_speaker, context_text) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, l) in lines.iter().enumerate() {
        stmt.execute(params![
            persona_id,
            next + i as i64,
            l.line_no,
            l.text,
            l.context_speaker,
            l.context_text
        ])?;
    }
    Ok(())
}

impl Store {
    pub fn script_lines(&self, persona_id: i64) -> Result<Vec<ScriptLine>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, seq, line_no, text, context_speaker, context_text FROM script_lines \
             WHERE persona_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([persona_id], |r| {
            Ok(ScriptLine {
                id: r.get(0)?,
                seq: r.get(1)?,
                line: NewScriptLine {
                    line_no: r.get(2)?,
                    text: r.get(3)?,
                    context_speaker: r.get(4)?,
                    context_text: r.get(5)?,
                },
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn script_line_count(&self, persona_id: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM script_lines WHERE persona_id = ?1",
            [persona_id],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::personas::tests::{open_temp, sample_card};

    fn line(no: i64, text: &str, ctx: Option<&str>) -> NewScriptLine {
        NewScriptLine {
            line_no: no,
            text: text.into(),
            context_speaker: ctx.map(|_| "REN".into()),
            context_text: ctx.map(Into::into),
        }
    }

    #[test]
    fn lines_keep_order_and_context() {
        let (_dir, mut store) = open_temp();
        let lines = vec![
            line(2, "Hmph. Stand up.", Some("I fell.")),
            line(5, "Again!", None),
        ];
        let id = store
            .insert_persona(&sample_card("t"), &lines, None)
            .unwrap();
        let back = store.script_lines(id).unwrap();
        assert_eq!(back.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(back[0].line, lines[0]);
        assert_eq!(back[1].line, lines[1]);
        assert_eq!(store.script_line_count(id).unwrap(), 2);
    }
}
