//! Rewrites a GGUF with some tensor types converted (e.g. Q4_1 -> Q8_0: candle's Q4_1 kernels are slow
//! while Q8_0 has fast SIMD kernels). Metadata and every other tensor are copied unchanged.

use std::path::Path;

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::Device;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gguf::{GgufFile, MetaValue};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequantizeReport {
    pub converted_tensors: usize,
    pub copied_tensors: usize,
}

fn to_candle_value(v: &MetaValue) -> Value {
    match v {
        MetaValue::U8(x) => Value::U8(*x),
        MetaValue::I8(x) => Value::I8(*x),
        MetaValue::U16(x) => Value::U16(*x),
        MetaValue::I16(x) => Value::I16(*x),
        MetaValue::U32(x) => Value::U32(*x),
        MetaValue::I32(x) => Value::I32(*x),
        MetaValue::F32(x) => Value::F32(*x),
        MetaValue::Bool(x) => Value::Bool(*x),
        MetaValue::String(x) => Value::String(x.clone()),
        MetaValue::Array(x) => Value::Array(x.iter().map(to_candle_value).collect()),
        MetaValue::U64(x) => Value::U64(*x),
        MetaValue::I64(x) => Value::I64(*x),
        MetaValue::F64(x) => Value::F64(*x),
    }
}

/// Converts every tensor whose type is in `from` to `to` and writes the result to `dst` (via a temporary file).
pub fn requantize_gguf(
    src: &Path,
    dst: &Path,
    from: &[GgmlDType],
    to: GgmlDType,
) -> Result<RequantizeReport> {
    let gguf = GgufFile::open(src)?;
    let device = Device::Cpu;
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(gguf.header.tensors.len());
    let mut report = RequantizeReport {
        converted_tensors: 0,
        copied_tensors: 0,
    };
    for info in &gguf.header.tensors {
        let q = gguf.tensor(&info.name, &device)?;
        let inner = info.shape.last().copied().unwrap_or(0);
        if from.contains(&info.dtype) && inner % to.block_size() == 0 {
            tensors.push((
                info.name.clone(),
                QTensor::quantize(&q.dequantize(&device)?, to)?,
            ));
            report.converted_tensors += 1;
        } else {
            tensors.push((info.name.clone(), q));
            report.copied_tensors += 1;
        }
    }
    let mut metadata: Vec<(String, Value)> = gguf
        .header
        .metadata
        .iter()
        .map(|(k, v)| (k.clone(), to_candle_value(v)))
        .collect();
    // general.file_type would now lie about the dominant type; llama.cpp only uses it for display.
    metadata.retain(|(k, _)| k != "general.file_type");
    let tmp = dst.with_extension("gguf.tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let md: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let ts: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    gguf_file::write(&mut file, &md, &ts)?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, dst).map_err(|e| Error::io(dst, e))?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::Architecture;
    use crate::model::{LoadOptions, Model};
    use crate::test_models::{write_tiny_model, TinySpec};

    #[test]
    fn q4_1_model_requantized_to_q8_0_keeps_metadata_and_values() {
        let dir = tempfile::tempdir().unwrap();
        let tiny = write_tiny_model(
            &TinySpec::new(Architecture::Llama),
            GgmlDType::Q4_1,
            dir.path(),
        );
        let dst = dir.path().join("q8.gguf");
        let report =
            requantize_gguf(&tiny.gguf, &dst, &[GgmlDType::Q4_1], GgmlDType::Q8_0).unwrap();
        assert_eq!(
            report.converted_tensors,
            2 * 7 + 1,
            "7 projections per block + embeddings"
        );
        let (src, out) = (
            GgufFile::open(&tiny.gguf).unwrap(),
            GgufFile::open(&dst).unwrap(),
        );
        assert_eq!(
            out.metadata("general.name").and_then(MetaValue::as_str),
            Some("tiny-llama")
        );
        assert_eq!(out.header.tensors.len(), src.header.tensors.len());
        let dev = Device::Cpu;
        for info in &src.header.tensors {
            let a = src
                .tensor(&info.name, &dev)
                .unwrap()
                .dequantize(&dev)
                .unwrap();
            let q = out.tensor(&info.name, &dev).unwrap();
            assert_ne!(q.dtype(), GgmlDType::Q4_1);
            let b = q.dequantize(&dev).unwrap();
            // Q8_0 keeps each value within half a step (max|block| / 127 / 2) of the Q4_1 value.
            let diff: f32 = (&a - &b)
                .unwrap()
                .abs()
                .unwrap()
                .max_all()
                .unwrap()
                .to_scalar()
                .unwrap();
            let max: f32 = a.abs().unwrap().max_all().unwrap().to_scalar().unwrap();
            assert!(diff <= max / 127.0, "{}: {diff}", info.name);
        }
        let model = Model::load(
            &dst,
            LoadOptions {
                threads: 1,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(model.decoder().config().num_layers, 2);
    }
}
