//! A general thesaurus in the line format of 同义词词林 (Cilin): `CODE word word …`, one set per
//! line. The code's last character says how its words relate: `=` same meaning, `#` merely
//! related, `@` a word alone. Only `=` sets are kept: related words (`#`) change what is asked.
//! `#` at the start of a line begins a comment.
//!
//! Query words expand to the other words of their sets, at a lower weight, and only to words the
//! index holds (see `Inner::build`).

use std::collections::HashMap;

use super::tokenize::normalize;

/// A line that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ThesaurusError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Fine-grained synonym sets.
#[derive(Debug, Default)]
pub struct Thesaurus {
    sets: Vec<Vec<String>>,
    /// Word → indexes of the sets holding it.
    by_word: HashMap<String, Vec<u32>>,
}

/// How a set's code ends: the relation of its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Same,
    Related,
    Alone,
}

/// `Aa01A01=`: major class (A–L), minor class (a–z), two digits, a letter, two digits, relation.
fn parse_code(code: &str) -> Result<Relation, String> {
    let c: Vec<char> = code.chars().collect();
    let shape = c.len() == 8
        && c[0].is_ascii_uppercase()
        && c[1].is_ascii_lowercase()
        && c[2].is_ascii_digit()
        && c[3].is_ascii_digit()
        && c[4].is_ascii_uppercase()
        && c[5].is_ascii_digit()
        && c[6].is_ascii_digit();
    if !shape {
        return Err(format!(
            "`{code}` is not a set code (like Aa01A01= : class letter, subclass letter, two digits, letter, two digits, relation)"
        ));
    }
    match c[7] {
        '=' => Ok(Relation::Same),
        '#' => Ok(Relation::Related),
        '@' => Ok(Relation::Alone),
        other => Err(format!(
            "set code `{code}` ends in `{other}`; expected `=`, `#` or `@`"
        )),
    }
}

impl Thesaurus {
    /// Reads `text` (the contents of `file`); a malformed line is skipped and reported with its
    /// line number, the rest still loads.
    pub fn parse(file: &str, text: &str) -> (Thesaurus, Vec<ThesaurusError>) {
        let mut t = Thesaurus::default();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start_matches('\u{feff}').trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let code = parts.next().unwrap_or_default();
            let relation = match parse_code(code) {
                Ok(r) => r,
                Err(message) => {
                    errors.push(ThesaurusError {
                        file: file.to_string(),
                        line: i + 1,
                        message,
                    });
                    continue;
                }
            };
            let mut words: Vec<String> = Vec::new();
            for w in parts.map(normalize).filter(|w| !w.is_empty()) {
                if !words.contains(&w) {
                    words.push(w);
                }
            }
            if words.is_empty() {
                errors.push(ThesaurusError {
                    file: file.to_string(),
                    line: i + 1,
                    message: format!("set `{code}` lists no words"),
                });
                continue;
            }
            if relation != Relation::Same || words.len() < 2 {
                continue;
            }
            let id = t.sets.len() as u32;
            for w in &words {
                t.by_word.entry(w.clone()).or_default().push(id);
            }
            t.sets.push(words);
        }
        (t, errors)
    }

    pub fn sets(&self) -> &[Vec<String>] {
        &self.sets
    }

    /// The sets holding `word`.
    #[cfg(test)]
    pub fn sets_of(&self, word: &str) -> impl Iterator<Item = &[String]> {
        self.by_word
            .get(word)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.sets.get(i as usize).map(Vec::as_slice))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_same_meaning_sets() {
        let text = "# comment\n\
                    Ae05A01= 邮递员 邮差 投递员\n\
                    Ae05A02# 邮递员 邮局\n\
                    Ae05A03@ 信鸽\n\
                    \n\
                    He10C02= 付帐 付款\n";
        let (t, errors) = Thesaurus::parse("thesaurus.txt", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(t.sets().len(), 2);
        let sets: Vec<&[String]> = t.sets_of("邮递员").collect();
        assert_eq!(sets.len(), 1, "the related (#) set is not kept");
        assert_eq!(sets[0], ["邮递员", "邮差", "投递员"]);
        assert_eq!(t.sets_of("信鸽").count(), 0);
        assert_eq!(t.sets_of("邮局").count(), 0);
    }

    #[test]
    fn a_word_in_several_sets_has_each() {
        let text = "Ed27C01= 便宜 廉价\nJe10A01= 便宜 方便\n";
        let (t, _) = Thesaurus::parse("t.txt", text);
        assert_eq!(t.sets_of("便宜").count(), 2);
        assert_eq!(t.sets_of("方便").count(), 1);
    }

    #[test]
    fn malformed_lines_are_reported_with_file_and_line_and_skipped() {
        let text = "Aa01A01= 人 人士\n\
                    退款 退钱\n\
                    Aa01A02? 人类 全人类\n\
                    Aa01A03=\n\
                    Aa01A04= 劳力 劳动力\n";
        let (t, errors) = Thesaurus::parse("kb/thesaurus.txt", text);
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [2, 3, 4]);
        assert!(errors[0].to_string().starts_with("kb/thesaurus.txt:2: "));
        assert!(errors[1].message.contains("ends in `?`"));
        assert!(errors[2].message.contains("lists no words"));
        assert_eq!(t.sets().len(), 2, "the good lines still load");
    }

    #[test]
    fn crlf_bom_and_full_width_text_are_read() {
        let text = "\u{feff}Dj08C08= 运输费 运费\r\nDj08C05= 邮费 邮资\r\n";
        let (t, errors) = Thesaurus::parse("t.txt", text);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(t.sets().len(), 2);
        assert_eq!(t.sets_of("邮资").count(), 1);
    }
}
