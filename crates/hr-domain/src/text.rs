//! Text normalisation shared by every imported field.

use unicode_segmentation::UnicodeSegmentation;

/// Invisible format characters that carry no meaning in a name, id or e-mail and are
/// dropped by [`normalize_text`]: soft hyphen, Mongolian vowel separator, zero width space,
/// word joiner, the invisible mathematical operators and the byte order mark (also used as
/// a zero width no-break space). Zero width joiner and non-joiner are kept: emoji sequences
/// and several scripts need them.
fn is_removable(c: char) -> bool {
    matches!(
        c,
        '\u{ad}' | '\u{180e}' | '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
    )
}

/// Trims a value, drops invisible format characters that mean nothing (zero width space,
/// word joiner, byte order mark…) and collapses every inner run of white space (any Unicode
/// white space, including non-breaking spaces, tabs and line breaks) to one ASCII space.
/// Nothing else is dropped, and characters are never split, so valid UTF-8 stays whole.
pub fn normalize_text(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut gap = false;
    for c in raw.chars().filter(|c| !is_removable(*c)) {
        if c.is_whitespace() {
            gap = !out.is_empty();
            continue;
        }
        if gap {
            out.push(' ');
            gap = false;
        }
        out.push(c);
    }
    out
}

/// True when `text` holds a control character (Unicode category Cc) other than the white
/// space that [`normalize_text`] collapses: NUL, BEL, ESC, DEL and the like.
pub fn has_control_character(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && !c.is_whitespace())
}

/// The longest prefix of `text` that fits in `max_bytes` and ends on a grapheme boundary,
/// so a user-perceived character (an accented letter, an emoji ZWJ sequence such as 👩🏽‍💻)
/// is kept whole or dropped whole. When not even the first grapheme fits, the cut falls
/// on the last character boundary instead, so the result is never a split character.
pub fn truncate_utf8(text: &str, max_bytes: usize) -> &str {
    if text.len() <= max_bytes {
        return text;
    }
    let end = text
        .grapheme_indices(true)
        .map(|(start, grapheme)| start + grapheme.len())
        .take_while(|end| *end <= max_bytes)
        .last()
        .unwrap_or_else(|| char_boundary_at_most(text, max_bytes));
    &text[..end]
}

fn char_boundary_at_most(text: &str, max_bytes: usize) -> usize {
    let mut end = max_bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
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
    fn invisible_format_characters_are_dropped_but_joiners_are_kept() {
        assert_eq!(normalize_text("\u{200b}"), "");
        assert_eq!(normalize_text("\u{feff}E-10\u{2060}07\u{200b} "), "E-1007");
        assert_eq!(normalize_text("Ana \u{200b} Pérez"), "Ana Pérez");

        let coder = "👩🏽\u{200d}💻";
        assert_eq!(normalize_text(coder), coder);
        assert_eq!(normalize_text("می\u{200c}خواهم"), "می\u{200c}خواهم");
    }

    #[test]
    fn control_characters_other_than_white_space_are_found() {
        assert!(has_control_character("Ana\u{7}"));
        assert!(has_control_character("\u{1b}[31mAna"));
        assert!(has_control_character("A\u{0}"));
        assert!(has_control_character("A\u{7f}"));
        assert!(!has_control_character("Ana\tPérez\r\n"));
        assert!(!has_control_character("👩🏽\u{200d}💻"));
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let name = format!("{}é", "a".repeat(63));
        assert_eq!(name.len(), 65);

        assert_eq!(truncate_utf8(&name, 64), "a".repeat(63));
        assert_eq!(truncate_utf8("王小明", 64), "王小明");
        assert_eq!(truncate_utf8("王小明", 4), "王");
    }

    #[test]
    fn truncation_keeps_an_emoji_sequence_whole_or_drops_it() {
        let name = "Zoë Þórhallsdóttir 👩🏽\u{200d}💻";
        let coder_at = name.find('👩').unwrap();

        assert_eq!(truncate_utf8(name, 64), name);
        for max in coder_at..name.len() {
            assert_eq!(truncate_utf8(name, max), &name[..coder_at], "cap {max}");
        }
        // "e" + combining acute accent is one grapheme of three bytes.
        assert_eq!(truncate_utf8("Rene\u{301}e", 5), "Ren");
    }

    #[test]
    fn a_first_grapheme_longer_than_the_cap_is_cut_at_a_character() {
        let coder = "👩🏽\u{200d}💻";

        assert_eq!(truncate_utf8(coder, 9), "👩🏽");
        assert_eq!(truncate_utf8(coder, 3), "");
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
        fn truncation_is_a_grapheme_prefix_within_the_cap(raw in "\\PC{0,40}", max in 0usize..50) {
            let cut = truncate_utf8(&raw, max);
            prop_assert!(cut.len() <= max);
            prop_assert!(raw.starts_with(cut));
            if raw.len() > max {
                let mut graphemes = raw[cut.len()..].graphemes(true);
                let next = graphemes.next().unwrap_or_default();
                let on_boundary = raw.grapheme_indices(true).any(|(i, _)| i == cut.len());
                // Either the cut is on a grapheme boundary and the next grapheme would not
                // fit, or nothing whole fit and the cut is the last character boundary.
                let whole = on_boundary && cut.len() + next.len() > max;
                let fallback = cut.len() + raw[cut.len()..].chars().next().map_or(0, char::len_utf8) > max;
                prop_assert!(whole || fallback);
            }
        }
    }
}
