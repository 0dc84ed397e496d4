//! Small text helpers shared by the channels: cutting at a character boundary, one-line
//! summaries of a receiver's answer, and the `&`, `<`, `>` escaping that Slack's mrkdwn and
//! Telegram's HTML both ask for.

/// `s` cut to at most `max` bytes at a character boundary, with `…` when something was cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let ellipsis = '…';
    let mut end = max.saturating_sub(ellipsis.len_utf8());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s[..end].to_string();
    out.push(ellipsis);
    out
}

/// The first non-empty line of `s`, trimmed.
pub fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// `s` on one line: control characters and runs of whitespace become one space.
pub fn flatten(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_whitespace() || c.is_control() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// A receiver's answer as a reason or detail may quote it: one line, at most ~200 bytes.
pub fn answer(body: &str) -> String {
    truncate(&flatten(body), 200)
}

/// `&`, `<` and `>` escaped, as Slack's mrkdwn and Telegram's HTML need.
pub fn escape_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_characters_whole() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("ééééé", 6), "é…");
        assert_eq!(truncate("abcdef", 4), "a…");
    }

    #[test]
    fn flatten_and_escape() {
        assert_eq!(flatten(" a\n\tb\u{7}c  "), "a b c");
        assert_eq!(escape_markup("<b>&"), "&lt;b&gt;&amp;");
        assert_eq!(one_line("\n  first \nsecond"), "first");
    }
}
