//! One definition of a Han character for every module that splits or reads Chinese text
//! (compliance clause breaks, retrieval n-grams, homophone lookup), so that they agree on what
//! a character run is.

/// A Han character: CJK unified ideographs, their extensions A to H, and the compatibility
/// ideographs.
pub fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{20000}'..='\u{323AF}')
}

#[cfg(test)]
mod tests {
    use super::is_han;

    #[test]
    fn han_characters_of_every_block_and_nothing_else() {
        for c in ['微', '㐀', '豈', '𠀀', '𱍐'] {
            assert!(is_han(c), "{c}");
        }
        for c in ['a', '1', '，', 'ー', '가', '①'] {
            assert!(!is_han(c), "{c}");
        }
    }
}
