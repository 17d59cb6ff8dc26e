//! Text from scenario files, file names and the command line, made safe to show a person.
//!
//! A label, a title or a file name is data: printed raw, a control character in it could move
//! the cursor, clear the screen, set the terminal's window title, or start a line that looks
//! like pathcast's own output. Everything pathcast prints from such a source goes through
//! [`printable`], and every error message through [`message`] (escaped and cut to a length).

use std::fmt::Write;

/// The longest error message printed, in characters: enough for any message pathcast writes
/// itself, short of the megabytes a hostile file could make it echo.
pub const MAX_MESSAGE_CHARS: usize = 2000;

/// Unicode characters that reorder the text around them (bidirectional overrides and
/// isolates, and the marks): shown raw they make a line read differently from its bytes.
fn reorders(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character and bidirectional control written as an escape
/// (`\n`, `\r`, `\t`, `\u{1b}`): one line of plain characters.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || reorders(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to at most `max` characters, saying how much was left out.
pub fn capped(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((end, _)) => {
            let rest = text[end..].chars().count();
            format!("{}... ({rest} more characters)", &text[..end])
        }
    }
}

/// A piece of user text inside a message (a key, an id): short enough that what the message
/// says about it still fits in the message.
pub fn excerpt(text: &str) -> String {
    capped(text, 100)
}

/// An error message as printed: escaped, and capped at [`MAX_MESSAGE_CHARS`].
pub fn message(text: &str) -> String {
    capped(&printable(text), MAX_MESSAGE_CHARS)
}

/// A command-line argument as a POSIX shell word: bare when it needs no quoting, in single
/// quotes when it is plain text, and as a `$'...'` word with escapes when it holds control
/// characters or bytes that are not UTF-8. Lossless: the shell reads back the same bytes.
pub fn shell_word(arg: &std::ffi::OsStr) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = arg.as_bytes();
    let bare = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(b));
    if bare {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(|c| c.is_control() || reorders(c)) => {
            format!("'{}'", text.replace('\'', r"'\''"))
        }
        _ => {
            let mut word = String::from("$'");
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    match c {
                        '\\' | '\'' => {
                            word.push('\\');
                            word.push(c);
                        }
                        c if c.is_control() || reorders(c) => {
                            let mut buffer = [0; 4];
                            for b in c.encode_utf8(&mut buffer).bytes() {
                                let _ = write!(word, "\\x{b:02x}");
                            }
                        }
                        c => word.push(c),
                    }
                }
                for b in chunk.invalid() {
                    let _ = write!(word, "\\x{b:02x}");
                }
            }
            word.push('\'');
            word
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\x1b[2Jb\r\nc\td"), "a\\u{1b}[2Jb\\r\\nc\\td");
        assert_eq!(
            printable("\u{7f}\u{9b}\u{202e}x"),
            "\\u{7f}\\u{9b}\\u{202e}x"
        );
        assert_eq!(printable("Zelenskiy – Putin"), "Zelenskiy – Putin");
    }

    #[test]
    fn long_text_is_cut_and_says_so() {
        assert_eq!(capped("abcdef", 6), "abcdef");
        assert_eq!(capped("abcdef", 4), "abcd... (2 more characters)");
        assert_eq!(capped("ééé", 1), "é... (2 more characters)");
        assert!(message(&"x".repeat(600_000)).chars().count() < MAX_MESSAGE_CHARS + 40);
    }

    #[test]
    fn shell_words_read_back_as_the_same_bytes() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let word = |b: &[u8]| shell_word(OsStr::from_bytes(b));
        assert_eq!(word(b"--out"), "--out");
        assert_eq!(word(b"events.x.p=0.1"), "events.x.p=0.1");
        assert_eq!(word(b"a b"), "'a b'");
        assert_eq!(word(b"it's"), r"'it'\''s'");
        assert_eq!(word(b""), "''");
        assert_eq!(word(b"out\xff"), r"$'out\xff'");
        assert_eq!(word(b"a\nb'\\"), r"$'a\x0ab\'\\'");
    }
}
