//! An adapter trained with PyTorch + PEFT on `kotodama dataset export` data comes back through
//! `import_adapter` and gives PyTorch's logits. Needs the output of tools/distill/peft_roundtrip.py,
//! which tools/distill/peft_roundtrip.sh produces and then runs this test with
//! `KOTODAMA_PEFT_ROUNDTRIP` set (PyTorch is too large a download for `make test`).

use std::path::Path;

use candle_core::Tensor;
use kotodama::distill::Variant;
use kotodama::{Home, Kotodama};
use kotodama_engine::{Mode, Model};

#[test]
fn a_peft_adapter_imported_gives_pytorchs_logits() {
    let Some(out) = std::env::var_os("KOTODAMA_PEFT_ROUNDTRIP") else {
        eprintln!(
            "skipped: KOTODAMA_PEFT_ROUNDTRIP is not set (tools/distill/peft_roundtrip.sh sets it)"
        );
        return;
    };
    let out = Path::new(&out);
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("logits.json")).unwrap()).unwrap();
    let ids: Vec<u32> = serde_json::from_value(reference["ids"].clone()).unwrap();
    let torch: Vec<Vec<f32>> = serde_json::from_value(reference["logits"].clone()).unwrap();
    let torch_base: Vec<Vec<f32>> =
        serde_json::from_value(reference["baseLogits"].clone()).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut app = Kotodama::open(Home::at(dir.path())).unwrap();
    let persona = app.find_persona("tsubaki").unwrap().id;
    let base = out.join("base");
    let id = app
        .import_adapter(
            persona,
            &out.join("adapter"),
            Some(&base.display().to_string()),
            Variant::Vanilla,
            false,
            &mut |_| {},
        )
        .unwrap();
    let imported = app
        .adapters(persona)
        .unwrap()
        .into_iter()
        .find(|a| a.id == id)
        .unwrap();

    let logits = |model: &Model| -> Vec<Vec<f32>> {
        let input = Tensor::new(&ids[..], model.decoder().device())
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let all: Vec<Vec<f32>> = model
            .decoder()
            .forward_all(&input, Mode::Inference)
            .unwrap()
            .squeeze(0)
            .unwrap()
            .to_vec2()
            .unwrap();
        all[all.len() - torch.len()..].to_vec()
    };
    let max_diff = |a: &[Vec<f32>], b: &[Vec<f32>]| {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max)
    };
    let plain = Model::load(&base, Default::default()).unwrap();
    let base_logits = logits(&plain);
    let base_diff = max_diff(&base_logits, &torch_base);
    eprintln!("base model: max |logit diff| vs PyTorch {base_diff:.2e}");
    assert!(base_diff < 2e-3, "the same f32 weights: {base_diff}");
    let tuned = plain
        .with_adapter(Path::new(&imported.adapter.path))
        .unwrap();
    let ours = logits(&tuned);
    let diff = max_diff(&ours, &torch);
    let moved = max_diff(&base_logits, &torch);
    eprintln!("max |logit diff| vs PyTorch: {diff:.2e} with the adapter; {moved:.2e} without it");
    assert!(diff < 2e-3, "max |diff| = {diff}");
    assert!(
        moved > 50.0 * diff,
        "the adapter changes the logits: {moved}"
    );

    // The same adapter fits the GGUF the app chats with (llama.cpp's permuted q/k rows).
    let gguf = std::env::var("KOTODAMA_SMOLLM2_GGUF").unwrap();
    app.import_adapter(
        persona,
        &out.join("adapter"),
        Some(&gguf),
        Variant::Vanilla,
        false,
        &mut |_| {},
    )
    .unwrap();
}
