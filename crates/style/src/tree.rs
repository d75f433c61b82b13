//! Constituency trees: PTB bracket reading, function-tag stripping, binarization for the PCFG,
//! and reading n-ary rules back off (debinarized) trees.

use crate::error::{Error, Result};

/// A node: a phrase label with children, or a preterminal (POS tag) over a word.
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    pub label: String,
    pub children: Vec<Tree>,
    /// The word under a preterminal (None for phrase nodes).
    pub word: Option<String>,
}

/// Prefix of symbols introduced by binarization; they never appear in reported rules.
pub const INTERMEDIATE: char = '@';

impl Tree {
    pub fn is_preterminal(&self) -> bool {
        self.word.is_some()
    }

    /// (word, tag) leaves in order.
    pub fn leaves(&self) -> Vec<(&str, &str)> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'a>(&'a self, out: &mut Vec<(&'a str, &'a str)>) {
        match &self.word {
            Some(w) => out.push((w, &self.label)),
            None => self.children.iter().for_each(|c| c.collect_leaves(out)),
        }
    }

    /// n-ary rules "A -> B C D" of every phrase node (preterminals excluded).
    pub fn rules(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_rules(&mut out);
        out
    }

    fn collect_rules(&self, out: &mut Vec<String>) {
        if self.is_preterminal() {
            return;
        }
        let rhs: Vec<&str> = self.children.iter().map(|c| c.label.as_str()).collect();
        out.push(format!("{} -> {}", self.label, rhs.join(" ")));
        self.children.iter().for_each(|c| c.collect_rules(out));
    }

    /// Strips function tags and indices ("NP-SBJ-1" -> "NP"); POS tags like "-LRB-" are kept.
    pub fn strip_function_tags(&mut self) {
        if !self.is_preterminal() {
            if let Some(cut) = self
                .label
                .char_indices()
                .skip(1)
                .find(|&(_, c)| c == '-' || c == '=')
                .map(|(i, _)| i)
            {
                self.label.truncate(cut);
            }
            self.children.iter_mut().for_each(Tree::strip_function_tags);
        }
    }

    /// Right-factored binarization with first-order horizontal Markovization: the remaining
    /// children Xi..Xn of A become "@A>Xi", which remembers only its first child.
    pub fn binarize(&self) -> Tree {
        if self.is_preterminal() {
            return self.clone();
        }
        let kids: Vec<Tree> = self.children.iter().map(Tree::binarize).collect();
        Tree {
            label: self.label.clone(),
            children: factor(&self.label, kids),
            word: None,
        }
    }

    /// Undoes `binarize`: splices intermediate nodes into their parents.
    pub fn debinarize(&self) -> Tree {
        if self.is_preterminal() {
            return self.clone();
        }
        let mut children = Vec::new();
        for c in &self.children {
            let c = c.debinarize();
            if c.label.starts_with(INTERMEDIATE) {
                children.extend(c.children);
            } else {
                children.push(c);
            }
        }
        Tree {
            label: self.label.clone(),
            children,
            word: None,
        }
    }
}

fn factor(parent: &str, mut kids: Vec<Tree>) -> Vec<Tree> {
    if kids.len() <= 2 {
        return kids;
    }
    let first = kids.remove(0);
    let label = format!("{INTERMEDIATE}{parent}>{}", kids[0].label);
    let rest = Tree {
        label,
        children: factor(parent, kids),
        word: None,
    };
    vec![first, rest]
}

/// The word a PTB bracket escape stands for ("-LRB-" -> "(").
pub fn unbracket(w: &str) -> &str {
    match w {
        "-LRB-" | "-LSB-" | "-LCB-" => "(",
        "-RRB-" | "-RSB-" | "-RCB-" => ")",
        _ => w,
    }
}

/// Reads every tree in a PTB bracket file.
pub fn read_ptb(text: &str, source: &str) -> Result<Vec<Tree>> {
    let tokens = lex(text);
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < tokens.len() {
        out.push(parse_node(&tokens, &mut pos, source)?);
    }
    Ok(out)
}

fn lex(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push(&text[s..i]);
            }
            if !c.is_whitespace() {
                out.push(&text[i..i + 1]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push(&text[s..]);
    }
    out
}

fn parse_node(tokens: &[&str], pos: &mut usize, source: &str) -> Result<Tree> {
    let bad = |pos: usize, reason: &str| Error::BadTreebank {
        location: format!("{source} token {pos}"),
        reason: reason.into(),
    };
    if tokens.get(*pos) != Some(&"(") {
        return Err(bad(*pos, "expected '('"));
    }
    *pos += 1;
    let label = match tokens.get(*pos) {
        Some(&"(") => "ROOT".to_string(),
        Some(l) if *l != ")" => {
            *pos += 1;
            l.to_string()
        }
        _ => return Err(bad(*pos, "missing label")),
    };
    let mut children = Vec::new();
    let mut word = None;
    loop {
        match tokens.get(*pos) {
            None => return Err(bad(*pos, "unbalanced brackets")),
            Some(&")") => {
                *pos += 1;
                break;
            }
            Some(&"(") => children.push(parse_node(tokens, pos, source)?),
            Some(w) => {
                word = Some(w.to_string());
                *pos += 1;
            }
        }
    }
    if word.is_some() && !children.is_empty() {
        return Err(bad(*pos, "node has both a word and children"));
    }
    if word.is_none() && children.is_empty() {
        return Err(bad(*pos, "empty node"));
    }
    Ok(Tree {
        label,
        children,
        word,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str =
        "(ROOT (S (NP-SBJ (PRP I)) (VP (VBD saw) (NP (DT the) (JJ big) (JJ red) (NN dog))) (. .)))";

    #[test]
    fn reads_strips_and_round_trips_binarization() {
        let mut trees = read_ptb(&format!("{TREE}\n\n{TREE}"), "t").unwrap();
        assert_eq!(trees.len(), 2);
        let mut t = trees.remove(0);
        t.strip_function_tags();
        assert_eq!(t.leaves().len(), 7);
        let rules = t.rules();
        assert_eq!(rules[0], "ROOT -> S");
        assert!(rules.contains(&"NP -> DT JJ JJ NN".to_string()));
        let b = t.binarize();
        assert!(b
            .rules()
            .iter()
            .all(|r| r.split(" -> ").nth(1).unwrap().split(' ').count() <= 2));
        assert!(b.rules().contains(&"@NP>JJ -> JJ @NP>JJ".to_string()));
        assert_eq!(b.debinarize(), t);
    }

    #[test]
    fn rejects_malformed_brackets() {
        assert!(read_ptb("(S (NP", "t").is_err());
        assert!(read_ptb("(S ())", "t").is_err());
        assert!(read_ptb("word", "t").is_err());
    }
}
