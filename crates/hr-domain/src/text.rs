//! Text normalisation shared by every imported field.

/// Trims a value and collapses every inner run of white space (any Unicode white space,
/// including non-breaking spaces, tabs and line breaks) to one ASCII space. Characters are
/// never split or dropped otherwise, so valid UTF-8 stays whole.
pub fn normalize_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for word in raw.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// The longest prefix of `text` that fits in `max_bytes` without splitting a character.
pub fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let mut end = max_bytes;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn collapses_inner_runs_and_trims() {
        assert_eq!(
            normalize_text("  Adinolfi,\u{a0} Wilson  K \t"),
            "Adinolfi, Wilson K"
        );
        assert_eq!(
            normalize_text("Ait Sidi, Karthikeyan   "),
            "Ait Sidi, Karthikeyan"
        );
        assert_eq!(normalize_text(""), "");
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let name = format!("{}é", "a".repeat(63));
        assert_eq!(name.len(), 65);

        assert_eq!(truncate_utf8(&name, 64), "a".repeat(63));
        assert_eq!(truncate_utf8("王小明", 64), "王小明");
        assert_eq!(truncate_utf8("王小明", 4), "王");
    }

    proptest! {
        #[test]
        fn normalising_twice_changes_nothing(raw in "\\PC{0,60}") {
            let once = normalize_text(&raw);
            prop_assert_eq!(normalize_text(&once), once.clone());
            prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
            prop_assert!(!once.contains("  "));
        }

        #[test]
        fn truncation_is_a_valid_prefix_within_the_cap(raw in "\\PC{0,40}", max in 0usize..50) {
            let cut = truncate_utf8(&raw, max);
            prop_assert!(cut.len() <= max);
            prop_assert!(raw.starts_with(cut));
            prop_assert!(raw.len() <= max || cut.len() + 4 > max);
        }
    }
}
