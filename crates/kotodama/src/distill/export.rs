//! A persona's distillation data for trainers elsewhere (a larger student on a GPU): the training and
//! validation splits as JSONL in the OpenAI chat format, which TRL's SFT trainer reads, and
//! LLaMA-Factory's `dataset_info.json` naming them as ShareGPT-style datasets with OpenAI role tags.
//! The test split stays out: it is what `kotodama eval` measures an imported adapter on.

use std::path::{Path, PathBuf};

use super::dataset::{Dataset, Split, Variant};
use super::io;
use crate::{Error, Result};

/// Writes `<slug>-<variant>-train.jsonl`, `<slug>-<variant>-validation.jsonl` and
/// `dataset_info.json` into `dir` (created if needed); returns the files written.
pub fn write_dataset(
    data: &Dataset,
    slug: &str,
    variant: Variant,
    dir: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut info = serde_json::Map::new();
    let mut written = Vec::new();
    for (split, name) in [(Split::Train, "train"), (Split::Validation, "validation")] {
        let file = format!("{slug}-{}-{name}.jsonl", variant.as_str());
        let path = dir.join(&file);
        crate::fsutil::write_atomically(&path, data.to_jsonl(variant, split).as_bytes())?;
        info.insert(
            format!(
                "kotodama_{}_{}_{name}",
                slug.replace('-', "_"),
                variant.as_str().replace('-', "_")
            ),
            serde_json::json!({
                "file_name": file,
                "formatting": "sharegpt",
                "columns": {"messages": "messages"},
                "tags": {
                    "role_tag": "role",
                    "content_tag": "content",
                    "user_tag": "user",
                    "assistant_tag": "assistant",
                    "system_tag": "system"
                }
            }),
        );
        written.push(path);
    }
    let info_path = dir.join("dataset_info.json");
    let json = serde_json::to_vec_pretty(&serde_json::Value::Object(info))
        .map_err(|e| Error::Distill(format!("dataset_info.json: {e}")))?;
    crate::fsutil::write_atomically(&info_path, &json)?;
    written.push(info_path);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distill::teacher::TeacherSpec;
    use crate::{Home, Kotodama};

    #[test]
    fn the_export_holds_train_and_validation_and_names_them_for_llama_factory() {
        let dir = tempfile::tempdir().unwrap();
        let app = Kotodama::open(Home::at(dir.path().join("home"))).unwrap();
        let id = app.find_persona("tsubaki").unwrap().id;
        let data = app
            .distill_dataset(id, &TeacherSpec::Rules, &mut |_, _| {})
            .unwrap();
        let out = dir.path().join("export");
        let files = write_dataset(&data, "tsubaki", Variant::StepByStep, &out).unwrap();
        assert_eq!(files.len(), 3);
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("dataset_info.json")).unwrap()).unwrap();
        let train = &info["kotodama_tsubaki_step_by_step_train"];
        assert_eq!(train["formatting"], "sharegpt");
        assert_eq!(train["tags"]["system_tag"], "system");
        let rows = std::fs::read_to_string(out.join(train["file_name"].as_str().unwrap())).unwrap();
        let count = |split| data.in_split(split).count();
        assert_eq!(
            rows.lines().count(),
            2 * count(Split::Train),
            "plan and answer task"
        );
        let validation =
            std::fs::read_to_string(out.join("tsubaki-step-by-step-validation.jsonl")).unwrap();
        assert_eq!(validation.lines().count(), 2 * count(Split::Validation));
        // The test split is held out of both files.
        for line in rows.lines().chain(validation.lines()) {
            let row: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_ne!(row["split"], "test");
        }
    }
}
