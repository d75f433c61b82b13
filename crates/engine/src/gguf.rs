//! GGUF reader with bounds checks: every count and length in the header is checked against the bytes the
//! file actually has before anything is allocated, so a hostile header gives an error, not an OOM abort.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QTensor};
use candle_core::Device;

use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"GGUF";
const MAX_DIMS: usize = 4;
const MAX_NESTING: usize = 4;
/// Caps the number of metadata values held in memory (a real vocabulary has < 1M entries per array).
const MAX_METADATA_VALUES: usize = 16 << 20;
const DEFAULT_ALIGNMENT: u64 = 32;

/// One metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum MetaValue {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(Vec<MetaValue>),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl MetaValue {
    /// Any integer type that fits a `u64` (GGUF writers disagree on integer widths).
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Self::Bool(b) => Some(b),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[MetaValue]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }
}

/// Where a tensor lives in the file and what it holds. `shape` is in candle order (outermost first).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: GgmlDType,
    /// Absolute file offset of the tensor's first byte.
    pub offset: u64,
    pub size_in_bytes: u64,
}

/// The parsed header of a GGUF file: metadata and tensor directory.
#[derive(Debug, Clone)]
pub struct GgufHeader {
    pub version: u32,
    pub metadata: BTreeMap<String, MetaValue>,
    pub tensors: Vec<TensorInfo>,
}

impl GgufHeader {
    pub fn metadata(&self, key: &str) -> Option<&MetaValue> {
        self.metadata.get(key)
    }
}

/// An open GGUF file: its header plus a handle to read tensor data on demand.
#[derive(Debug)]
pub struct GgufFile {
    path: PathBuf,
    pub header: GgufHeader,
    file: Mutex<File>,
}

impl GgufFile {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut reader = BufReader::with_capacity(1 << 16, &file);
        let header = GgufHeader::parse(&mut reader, len).map_err(|reason| Error::Gguf {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            header,
            file: Mutex::new(file),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn metadata(&self, key: &str) -> Option<&MetaValue> {
        self.header.metadata(key)
    }

    pub fn tensor_info(&self, name: &str) -> Option<&TensorInfo> {
        self.header.tensors.iter().find(|t| t.name == name)
    }

    /// Reads one tensor's data onto `device`.
    pub fn tensor(&self, name: &str, device: &Device) -> Result<QTensor> {
        let info = self.tensor_info(name).ok_or_else(|| Error::Tensor {
            name: name.to_string(),
            reason: format!("missing from {}", self.path.display()),
        })?;
        let bytes = self.read_bytes(info.offset, info.size_in_bytes)?;
        // The header parse proved size_in_bytes matches shape and dtype, which qtensor_from_ggml relies on.
        Ok(qtensor_from_ggml(
            info.dtype,
            &bytes,
            info.shape.clone(),
            device,
        )?)
    }

    fn read_bytes(&self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let len = usize::try_from(len).map_err(|_| Error::Gguf {
            path: self.path.clone(),
            reason: format!("tensor of {len} bytes does not fit in memory"),
        })?;
        let mut file = self
            .file
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut bytes = vec![0u8; len];
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| Error::io(&self.path, e))?;
        Ok(bytes)
    }
}

/// Reads little-endian values while tracking how many bytes the file still has.
struct BoundedReader<'a, R> {
    inner: &'a mut R,
    pos: u64,
    len: u64,
    values_left: usize,
}

type ParseResult<T> = std::result::Result<T, String>;

impl<R: Read> BoundedReader<'_, R> {
    fn remaining(&self) -> u64 {
        self.len - self.pos
    }

    fn bytes<const N: usize>(&mut self, what: &str) -> ParseResult<[u8; N]> {
        if self.remaining() < N as u64 {
            return Err(format!(
                "truncated at byte {} while reading {what}",
                self.pos
            ));
        }
        let mut buf = [0u8; N];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| format!("reading {what} at byte {}: {e}", self.pos))?;
        self.pos += N as u64;
        Ok(buf)
    }

    fn u32(&mut self, what: &str) -> ParseResult<u32> {
        self.bytes::<4>(what).map(u32::from_le_bytes)
    }

    fn u64(&mut self, what: &str) -> ParseResult<u64> {
        self.bytes::<8>(what).map(u64::from_le_bytes)
    }

    fn string(&mut self, what: &str) -> ParseResult<String> {
        let len = self.u64(what)?;
        if len > self.remaining() {
            return Err(format!(
                "{what}: string length {len} exceeds the {} bytes left in the file",
                self.remaining()
            ));
        }
        let mut buf = vec![0u8; len as usize];
        self.inner
            .read_exact(&mut buf)
            .map_err(|e| format!("reading {what}: {e}"))?;
        self.pos += len;
        String::from_utf8(buf).map_err(|_| format!("{what}: string is not valid UTF-8"))
    }

    fn value(&mut self, type_id: u32, what: &str, depth: usize) -> ParseResult<MetaValue> {
        if self.values_left == 0 {
            return Err(format!("more than {MAX_METADATA_VALUES} metadata values"));
        }
        self.values_left -= 1;
        Ok(match type_id {
            0 => MetaValue::U8(self.bytes::<1>(what)?[0]),
            1 => MetaValue::I8(i8::from_le_bytes(self.bytes::<1>(what)?)),
            2 => MetaValue::U16(u16::from_le_bytes(self.bytes::<2>(what)?)),
            3 => MetaValue::I16(i16::from_le_bytes(self.bytes::<2>(what)?)),
            4 => MetaValue::U32(self.u32(what)?),
            5 => MetaValue::I32(i32::from_le_bytes(self.bytes::<4>(what)?)),
            6 => MetaValue::F32(f32::from_le_bytes(self.bytes::<4>(what)?)),
            7 => match self.bytes::<1>(what)?[0] {
                0 => MetaValue::Bool(false),
                1 => MetaValue::Bool(true),
                b => return Err(format!("{what}: invalid bool byte {b}")),
            },
            8 => MetaValue::String(self.string(what)?),
            9 => {
                if depth >= MAX_NESTING {
                    return Err(format!("{what}: arrays nested deeper than {MAX_NESTING}"));
                }
                let elem_type = self.u32(what)?;
                let count = self.u64(what)?;
                let min_elem_size = min_value_size(elem_type)
                    .ok_or_else(|| format!("{what}: unknown array element type {elem_type}"))?;
                if count.saturating_mul(min_elem_size) > self.remaining() {
                    return Err(format!(
                        "{what}: array of {count} elements cannot fit in the {} bytes left in the file",
                        self.remaining()
                    ));
                }
                // Capacity is bounded by the bytes really present, checked just above.
                let mut values = Vec::with_capacity((count as usize).min(self.values_left));
                for _ in 0..count {
                    values.push(self.value(elem_type, what, depth + 1)?);
                }
                MetaValue::Array(values)
            }
            10 => MetaValue::U64(self.u64(what)?),
            11 => MetaValue::I64(i64::from_le_bytes(self.bytes::<8>(what)?)),
            12 => MetaValue::F64(f64::from_le_bytes(self.bytes::<8>(what)?)),
            t => return Err(format!("{what}: unknown value type {t}")),
        })
    }
}

/// The fewest bytes one value of a GGUF type can occupy.
fn min_value_size(type_id: u32) -> Option<u64> {
    Some(match type_id {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 => 8,
        9 => 12,
        10..=12 => 8,
        _ => return None,
    })
}

fn ggml_dtype(id: u32) -> Option<GgmlDType> {
    Some(match id {
        0 => GgmlDType::F32,
        1 => GgmlDType::F16,
        2 => GgmlDType::Q4_0,
        3 => GgmlDType::Q4_1,
        6 => GgmlDType::Q5_0,
        7 => GgmlDType::Q5_1,
        8 => GgmlDType::Q8_0,
        9 => GgmlDType::Q8_1,
        10 => GgmlDType::Q2K,
        11 => GgmlDType::Q3K,
        12 => GgmlDType::Q4K,
        13 => GgmlDType::Q5K,
        14 => GgmlDType::Q6K,
        15 => GgmlDType::Q8K,
        30 => GgmlDType::BF16,
        _ => return None,
    })
}

impl GgufHeader {
    /// Parses the header of a GGUF file of `file_len` bytes; `reader` must be at its start.
    pub fn parse<R: Read>(reader: &mut R, file_len: u64) -> ParseResult<Self> {
        let mut r = BoundedReader {
            inner: reader,
            pos: 0,
            len: file_len,
            values_left: MAX_METADATA_VALUES,
        };
        if &r.bytes::<4>("magic")? != MAGIC {
            return Err("not a GGUF file (bad magic)".into());
        }
        let version = r.u32("version")?;
        if !(2..=3).contains(&version) {
            return Err(format!(
                "unsupported GGUF version {version} (expected 2 or 3)"
            ));
        }
        let tensor_count = r.u64("tensor count")?;
        let kv_count = r.u64("metadata count")?;
        // A key-value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor entry 8 + 4 + 4 + 8.
        if kv_count.saturating_mul(13) > r.remaining() {
            return Err(format!(
                "metadata count {kv_count} cannot fit in a file of {file_len} bytes"
            ));
        }
        if tensor_count.saturating_mul(24) > r.remaining() {
            return Err(format!(
                "tensor count {tensor_count} cannot fit in a file of {file_len} bytes"
            ));
        }
        let mut metadata = BTreeMap::new();
        for i in 0..kv_count {
            let key = r.string(&format!("metadata key #{i}"))?;
            let type_id = r.u32(&key)?;
            let value = r.value(type_id, &key, 0)?;
            if metadata.insert(key.clone(), value).is_some() {
                return Err(format!("duplicate metadata key {key}"));
            }
        }
        let alignment = match metadata.get("general.alignment") {
            None => DEFAULT_ALIGNMENT,
            Some(v) => match v.as_u64() {
                Some(a) if a.is_power_of_two() => a,
                _ => return Err(format!("general.alignment {v:?} is not a power of two")),
            },
        };
        let mut raw = Vec::with_capacity(tensor_count as usize);
        for i in 0..tensor_count {
            let name = r.string(&format!("tensor name #{i}"))?;
            let n_dims = r.u32(&name)? as usize;
            if n_dims == 0 || n_dims > MAX_DIMS {
                return Err(format!(
                    "tensor {name}: {n_dims} dimensions (expected 1..={MAX_DIMS})"
                ));
            }
            let mut shape = Vec::with_capacity(n_dims);
            for _ in 0..n_dims {
                let d = r.u64(&name)?;
                shape.push(
                    usize::try_from(d)
                        .map_err(|_| format!("tensor {name}: dimension {d} too large"))?,
                );
            }
            shape.reverse();
            let type_id = r.u32(&name)?;
            let dtype = ggml_dtype(type_id)
                .ok_or_else(|| format!("tensor {name}: unknown type {type_id}"))?;
            let offset = r.u64(&name)?;
            raw.push((name, shape, dtype, offset));
        }
        let data_start = r.pos.div_ceil(alignment) * alignment;
        let mut tensors: Vec<TensorInfo> = Vec::with_capacity(raw.len());
        for (name, shape, dtype, rel_offset) in raw {
            let elems = shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
                .ok_or_else(|| format!("tensor {name}: element count overflows"))?;
            let block = dtype.block_size() as u64;
            if elems % block != 0
                || shape
                    .last()
                    .is_some_and(|&inner| !(inner as u64).is_multiple_of(block))
            {
                return Err(format!("tensor {name}: shape {shape:?} is not a multiple of the {dtype:?} block size {block}"));
            }
            let size_in_bytes = (elems / block)
                .checked_mul(dtype.type_size() as u64)
                .ok_or_else(|| format!("tensor {name}: size overflows"))?;
            if rel_offset % alignment != 0 {
                return Err(format!(
                    "tensor {name}: offset {rel_offset} is not aligned to {alignment}"
                ));
            }
            let offset = data_start
                .checked_add(rel_offset)
                .filter(|o| o.checked_add(size_in_bytes).is_some_and(|end| end <= file_len))
                .ok_or_else(|| {
                    format!("tensor {name}: {size_in_bytes} bytes at offset {rel_offset} run past the end of the file ({file_len} bytes)")
                })?;
            if tensors.iter().any(|t| t.name == name) {
                return Err(format!("duplicate tensor {name}"));
            }
            tensors.push(TensorInfo {
                name,
                shape,
                dtype,
                offset,
                size_in_bytes,
            });
        }
        Ok(Self {
            version,
            metadata,
            tensors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a GGUF header by hand so tests control every byte.
    fn header_bytes(tensor_count: u64, kvs: &[(&str, u32, Vec<u8>)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&3u32.to_le_bytes());
        b.extend_from_slice(&tensor_count.to_le_bytes());
        b.extend_from_slice(&(kvs.len() as u64).to_le_bytes());
        for (key, ty, payload) in kvs {
            b.extend_from_slice(&(key.len() as u64).to_le_bytes());
            b.extend_from_slice(key.as_bytes());
            b.extend_from_slice(&ty.to_le_bytes());
            b.extend_from_slice(payload);
        }
        b
    }

    fn parse(bytes: &[u8]) -> ParseResult<GgufHeader> {
        GgufHeader::parse(&mut &bytes[..], bytes.len() as u64)
    }

    fn string_payload(s: &str) -> Vec<u8> {
        let mut p = (s.len() as u64).to_le_bytes().to_vec();
        p.extend_from_slice(s.as_bytes());
        p
    }

    #[test]
    fn parses_metadata_and_tensor_directory() {
        let mut bytes = header_bytes(
            1,
            &[
                ("general.architecture", 8, string_payload("llama")),
                ("n", 4, 7u32.to_le_bytes().to_vec()),
            ],
        );
        let name = "w";
        bytes.extend_from_slice(&(name.len() as u64).to_le_bytes());
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(&2u32.to_le_bytes());
        bytes.extend_from_slice(&3u64.to_le_bytes()); // ne0 = 3 (inner)
        bytes.extend_from_slice(&2u64.to_le_bytes()); // ne1 = 2
        bytes.extend_from_slice(&0u32.to_le_bytes()); // f32
        bytes.extend_from_slice(&0u64.to_le_bytes());
        let data_start = bytes.len().div_ceil(32) * 32;
        bytes.resize(data_start + 24, 0);
        let h = parse(&bytes).expect("valid header");
        assert_eq!(h.metadata["general.architecture"].as_str(), Some("llama"));
        assert_eq!(h.metadata["n"].as_u64(), Some(7));
        assert_eq!(h.tensors[0].shape, vec![2, 3]);
        assert_eq!(h.tensors[0].offset, data_start as u64);
        assert_eq!(h.tensors[0].size_in_bytes, 24);
        // One byte less and the tensor runs past the end.
        let err = parse(&bytes[..bytes.len() - 1]).unwrap_err();
        assert!(err.contains("run past the end"), "{err}");
    }

    #[test]
    fn huge_counts_and_lengths_are_errors_not_allocations() {
        let mut huge_array = 0u32.to_le_bytes().to_vec();
        huge_array.extend_from_slice(&u64::MAX.to_le_bytes());
        let err = parse(&header_bytes(0, &[("a", 9, huge_array)])).unwrap_err();
        assert!(err.contains("cannot fit"), "{err}");

        let err = parse(&header_bytes(
            0,
            &[("s", 8, (1u64 << 60).to_le_bytes().to_vec())],
        ))
        .unwrap_err();
        assert!(err.contains("exceeds"), "{err}");

        let err = parse(&header_bytes(u64::MAX, &[])).unwrap_err();
        assert!(err.contains("tensor count"), "{err}");
    }

    #[test]
    fn rejects_bad_magic_version_types_and_truncation() {
        assert!(parse(b"GGML\x03\0\0\0").unwrap_err().contains("magic"));
        let mut v1 = header_bytes(0, &[]);
        v1[4] = 1;
        assert!(parse(&v1).unwrap_err().contains("version 1"));
        assert!(parse(&header_bytes(0, &[("x", 99, vec![0; 8])]))
            .unwrap_err()
            .contains("unknown value type 99"));
        let full = header_bytes(0, &[("k", 8, string_payload("value"))]);
        for cut in 0..full.len() {
            assert!(parse(&full[..cut]).is_err(), "truncation at {cut} accepted");
        }
        assert!(parse(&full).is_ok());
    }

    #[test]
    fn deeply_nested_arrays_are_rejected() {
        let mut payload = Vec::new();
        for _ in 0..8 {
            payload.extend_from_slice(&9u32.to_le_bytes());
            payload.extend_from_slice(&1u64.to_le_bytes());
        }
        payload.extend_from_slice(&0u32.to_le_bytes());
        payload.extend_from_slice(&0u64.to_le_bytes());
        let mut bytes = header_bytes(0, &[]);
        // key "n", type array, then the nested payload (first elem type already written above).
        bytes[16..24].copy_from_slice(&1u64.to_le_bytes());
        bytes.extend_from_slice(&1u64.to_le_bytes());
        bytes.push(b'n');
        bytes.extend_from_slice(&9u32.to_le_bytes());
        bytes.extend_from_slice(&payload);
        assert!(parse(&bytes).unwrap_err().contains("nested"));
    }

    /// A cheap stand-in for `fuzz/` in every test run: mutated and truncated copies of a real header
    /// (a tiny model with a tokenizer) parse or fail, never panic.
    #[test]
    fn mutated_headers_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let spec = crate::test_models::TinySpec::new(crate::decoder::Architecture::Qwen3);
        let tiny = crate::test_models::write_tiny_model(&spec, GgmlDType::F32, dir.path());
        let original = std::fs::read(&tiny.gguf).unwrap();
        assert!(parse(&original).is_ok());
        let header_len = 12_000.min(original.len());
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..3000 {
            let mut bytes = original.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % header_len as u64) as usize;
                bytes[at] = match next() % 3 {
                    0 => 0xff,
                    1 => 0,
                    _ => next() as u8,
                };
            }
            let cut = if next() % 4 == 0 {
                (next() % bytes.len() as u64) as usize
            } else {
                bytes.len()
            };
            let _ = parse(&bytes[..cut]);
        }
    }
}
