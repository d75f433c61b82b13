//! SentencePiece-style BPE as GGUF files with `tokenizer.ggml.model = "llama"` describe it (Llama 1/2,
//! Mistral v0.1, Phi-3, TinyLlama): a vocabulary of pieces with scores and no merge list. Spaces become
//! `▁`, a space is prefixed to each run of text, and adjacent symbols are merged greedily, always the
//! pair whose merged piece scores highest; characters no piece covers are spelled as `<0xXX>` byte pieces.
//! This is the algorithm llama.cpp and SentencePiece run, so ids match theirs exactly.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use crate::error::{Error, Result};

/// The SentencePiece space marker (U+2581).
const SPACE_MARK: char = '▁';

/// What a piece is, from GGUF `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PieceKind {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceKind {
    pub(crate) fn from_gguf(code: u64) -> Self {
        match code {
            2 => Self::Unknown,
            3 => Self::Control,
            4 => Self::UserDefined,
            5 => Self::Unused,
            6 => Self::Byte,
            _ => Self::Normal,
        }
    }

    /// Pieces written literally in a prompt (chat-template markers) that encode to their own id.
    pub(crate) fn is_special(self) -> bool {
        matches!(self, Self::Control | Self::UserDefined)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SpmTokenizer {
    pieces: Vec<String>,
    scores: Vec<f32>,
    kinds: Vec<PieceKind>,
    /// Piece text -> id; a text listed twice maps to its last id, as in llama.cpp.
    ids: HashMap<String, u32>,
    byte_ids: Vec<Option<u32>>,
    /// Special pieces, longest first, so that the longest marker wins where two start at one place.
    specials: Vec<u32>,
    unknown: Option<u32>,
    add_space_prefix: bool,
}

/// A candidate merge of two adjacent symbols, ordered so that the heap pops the highest-scoring one,
/// and of equal scores the leftmost.
struct Candidate {
    score: f32,
    left: usize,
    right: usize,
    /// Bytes of the merged text, to recognise candidates made stale by an earlier merge.
    len: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// A run of text inside the escaped input, linked to its neighbours; `len == 0` once merged away.
#[derive(Clone, Copy)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

impl SpmTokenizer {
    pub(crate) fn new(
        pieces: Vec<String>,
        scores: Vec<f32>,
        kinds: Vec<PieceKind>,
        add_space_prefix: bool,
    ) -> Result<Self> {
        if scores.len() != pieces.len() || kinds.len() != pieces.len() {
            return Err(Error::Metadata(format!(
                "SentencePiece vocabulary has {} pieces, {} scores and {} token types",
                pieces.len(),
                scores.len(),
                kinds.len()
            )));
        }
        let ids: HashMap<String, u32> = pieces
            .iter()
            .enumerate()
            .map(|(id, p)| (p.clone(), id as u32))
            .collect();
        let byte_ids = (0..=255u8)
            .map(|b| ids.get(&format!("<0x{b:02X}>")).copied())
            .collect();
        let mut specials: Vec<u32> = (0..pieces.len() as u32)
            .filter(|&id| kinds[id as usize].is_special() && !pieces[id as usize].is_empty())
            .collect();
        specials.sort_by_key(|&id| std::cmp::Reverse(pieces[id as usize].len()));
        let unknown = kinds
            .iter()
            .position(|&k| k == PieceKind::Unknown)
            .map(|id| id as u32);
        Ok(Self {
            pieces,
            scores,
            kinds,
            ids,
            byte_ids,
            specials,
            unknown,
            add_space_prefix,
        })
    }

    pub(crate) fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    pub(crate) fn token_id(&self, piece: &str) -> Option<u32> {
        self.ids.get(piece).copied()
    }

    /// Special markers written in the text become their ids; each run of text between them is
    /// prefixed with a space (when the vocabulary asks for it) and merged on its own.
    pub(crate) fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (plain, special) = self.split_at_next_special(rest);
            if !plain.is_empty() {
                self.encode_plain(plain, &mut out)?;
            }
            match special {
                Some((id, len)) => {
                    out.push(id);
                    rest = &rest[plain.len() + len..];
                }
                None => break,
            }
        }
        Ok(out)
    }

    /// The text before the first special marker, and that marker's id and length.
    fn split_at_next_special<'a>(&self, text: &'a str) -> (&'a str, Option<(u32, usize)>) {
        for (at, _) in text.char_indices() {
            let tail = &text[at..];
            if let Some(&id) = self
                .specials
                .iter()
                .find(|&&id| tail.starts_with(self.pieces[id as usize].as_str()))
            {
                return (&text[..at], Some((id, self.pieces[id as usize].len())));
            }
        }
        (text, None)
    }

    fn encode_plain(&self, text: &str, out: &mut Vec<u32>) -> Result<()> {
        let mut escaped = String::with_capacity(text.len() + 3);
        if self.add_space_prefix {
            escaped.push(SPACE_MARK);
        }
        escaped.extend(text.chars().map(|c| if c == ' ' { SPACE_MARK } else { c }));

        let mut symbols: Vec<Symbol> = escaped
            .char_indices()
            .map(|(start, c)| Symbol {
                start,
                len: c.len_utf8(),
                prev: None,
                next: None,
            })
            .collect();
        let n = symbols.len();
        for (i, s) in symbols.iter_mut().enumerate() {
            s.prev = i.checked_sub(1);
            s.next = (i + 1 < n).then_some(i + 1);
        }

        let mut queue = BinaryHeap::new();
        let push = |queue: &mut BinaryHeap<Candidate>, symbols: &[Symbol], left, right| {
            let (l, r): (&Symbol, &Symbol) = (&symbols[left], &symbols[right]);
            let merged = &escaped[l.start..r.start + r.len];
            if let Some(&id) = self.ids.get(merged) {
                queue.push(Candidate {
                    score: self.scores[id as usize],
                    left,
                    right,
                    len: merged.len(),
                });
            }
        };
        for i in 1..n {
            push(&mut queue, &symbols, i - 1, i);
        }
        while let Some(c) = queue.pop() {
            let (l, r) = (symbols[c.left], symbols[c.right]);
            if l.len == 0 || r.len == 0 || l.len + r.len != c.len {
                continue; // one side was merged into something else since this was queued
            }
            symbols[c.left].len += r.len;
            symbols[c.right].len = 0;
            symbols[c.left].next = r.next;
            if let Some(next) = r.next {
                symbols[next].prev = Some(c.left);
            }
            if let Some(prev) = l.prev {
                push(&mut queue, &symbols, prev, c.left);
            }
            if let Some(next) = r.next {
                push(&mut queue, &symbols, c.left, next);
            }
        }

        // Every merged symbol is a piece by construction; only single characters can lack one.
        let mut at = (n > 0).then_some(0);
        while let Some(i) = at {
            let s = symbols[i];
            let text = &escaped[s.start..s.start + s.len];
            match self.ids.get(text) {
                Some(&id) => out.push(id),
                None => {
                    for b in text.bytes() {
                        out.push(self.byte_ids[b as usize].or(self.unknown).ok_or_else(|| {
                            Error::Tokenizer(format!(
                                "{text:?} has no piece, no <0x{b:02X}> byte piece and no unknown piece"
                            ))
                        })?);
                    }
                }
            }
            at = s.next;
        }
        Ok(())
    }

    /// Pieces back to text: `▁` is a space, byte pieces are bytes, special markers are written out.
    /// The space the encoder prefixed is dropped from the start.
    pub(crate) fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut bytes = Vec::new();
        for &id in ids {
            let piece = self.pieces.get(id as usize).ok_or_else(|| {
                Error::Tokenizer(format!("token id {id} is outside the vocabulary"))
            })?;
            match self.kinds[id as usize] {
                PieceKind::Byte => match byte_of_piece(piece) {
                    Some(byte) => bytes.push(byte),
                    None => bytes.extend_from_slice(piece.as_bytes()),
                },
                PieceKind::Control | PieceKind::UserDefined => {
                    bytes.extend_from_slice(piece.as_bytes())
                }
                _ => {
                    let mut buf = [0u8; 4];
                    for c in piece.chars() {
                        let c = if c == SPACE_MARK { ' ' } else { c };
                        bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let text = match (self.add_space_prefix, text.strip_prefix(' ')) {
            (true, Some(stripped)) => stripped,
            _ => &text,
        };
        Ok(text.to_string())
    }
}

/// The byte a `<0xXX>` piece stands for.
fn byte_of_piece(piece: &str) -> Option<u8> {
    let hex = piece.strip_prefix("<0x")?.strip_suffix('>')?;
    u8::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-made vocabulary: scores decide the merge order, `<0x..>` pieces spell unknown characters.
    fn toy() -> SpmTokenizer {
        let mut pieces = vec![
            ("<unk>", 0.0, PieceKind::Unknown),
            ("<s>", 0.0, PieceKind::Control),
            ("</s>", 0.0, PieceKind::Control),
            ("▁", -1.0, PieceKind::Normal),
            ("a", -2.0, PieceKind::Normal),
            ("b", -2.0, PieceKind::Normal),
            ("c", -2.0, PieceKind::Normal),
            ("ab", -3.0, PieceKind::Normal),
            ("bc", -0.5, PieceKind::Normal),
            ("▁a", -4.0, PieceKind::Normal),
            ("abc", -0.1, PieceKind::Normal),
        ];
        let bytes: Vec<String> = (0..=255u8).map(|b| format!("<0x{b:02X}>")).collect();
        pieces.extend(bytes.iter().map(|b| (b.as_str(), 0.0, PieceKind::Byte)));
        SpmTokenizer::new(
            pieces.iter().map(|p| p.0.to_string()).collect(),
            pieces.iter().map(|p| p.1).collect(),
            pieces.iter().map(|p| p.2).collect(),
            true,
        )
        .unwrap()
    }

    fn pieces(t: &SpmTokenizer, ids: &[u32]) -> Vec<String> {
        ids.iter().map(|&i| t.pieces[i as usize].clone()).collect()
    }

    #[test]
    fn highest_scoring_merge_goes_first() {
        let t = toy();
        // "▁abc": "bc" (-0.5) goes before "ab" (-3) and "▁a" (-4), which makes "abc" (-0.1) possible.
        assert_eq!(pieces(&t, &t.encode("abc").unwrap()), ["▁", "abc"]);
        assert_eq!(pieces(&t, &t.encode("ab").unwrap()), ["▁", "ab"]);
        assert_eq!(pieces(&t, &t.encode("ac").unwrap()), ["▁a", "c"]);
    }

    #[test]
    fn unknown_characters_are_spelled_in_bytes_and_decode_back() {
        let t = toy();
        let ids = t.encode("aé").unwrap();
        assert_eq!(pieces(&t, &ids), ["▁a", "<0xC3>", "<0xA9>"]);
        assert_eq!(t.decode(&ids).unwrap(), "aé");
    }

    #[test]
    fn special_markers_split_the_text_and_each_run_gets_its_space() {
        let t = toy();
        let ids = t.encode("<s>a</s>b").unwrap();
        assert_eq!(pieces(&t, &ids), ["<s>", "▁a", "</s>", "▁", "b"]);
        assert_eq!(t.decode(&ids).unwrap(), "<s> a</s> b");
        assert_eq!(t.encode("").unwrap(), Vec::<u32>::new());
    }

    #[test]
    fn decoding_an_id_outside_the_vocabulary_is_an_error() {
        let err = toy().decode(&[100_000]).unwrap_err().to_string();
        assert!(err.contains("100000"), "{err}");
    }

    /// What a hostile GGUF can put in a vocabulary: NaN scores, an empty piece, a byte piece with a
    /// malformed name, no unknown piece. Each text still gets ids or a clear error.
    #[test]
    fn hostile_vocabularies_give_ids_or_errors() {
        use PieceKind::{Byte, Normal};
        let t = SpmTokenizer::new(
            ["", "▁", "a", "▁a", "<0xZZ>"].map(String::from).to_vec(),
            vec![f32::NAN, 0.0, f32::NAN, f32::NAN, 0.0],
            vec![Normal, Normal, Normal, Normal, Byte],
            true,
        )
        .unwrap();
        assert_eq!(t.encode("a").unwrap(), [3]);
        let err = t.encode("ab").unwrap_err().to_string();
        assert!(err.contains("\"b\" has no piece"), "{err}");
        assert_eq!(t.decode(&[4, 0, 2]).unwrap(), "<0xZZ>a");
    }
}
