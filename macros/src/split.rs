//! Splits a migration file into statements at top-level semicolons, the way `psql` does: it skips
//! string literals (`'..'`, `E'..'`), quoted identifiers, dollar-quoted bodies (`$tag$..$tag$`),
//! line and nested block comments, and SQL-standard `BEGIN ATOMIC .. END` function bodies.
//!
//! Lexical only: it never interprets SQL, with one exception psql makes too: it follows
//! `SET standard_conforming_strings`, because with that setting off a backslash escapes a quote in a
//! plain `'..'` literal, and a splitter that disagrees with the server about where a string ends
//! would cut statements where the server does not. Shared by two crates (the runtime reads this
//! file through a symlink, `src/migrate/split.rs`): the migration runner executes and reports one statement at a time with it,
//! and the schema macro uses it to find the line of a statement PostgreSQL's parser rejects.
//!
//! Linear in the size of the file: lines are counted as the scan goes, never from the start again
//! (a 50 MB seed file with 100,000 statements splits in well under a second).

/// One statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(dead_code)] // each including crate uses a different subset
pub(crate) struct Statement<'a> {
    /// The text, from its first token through its terminating `;` (if any).
    pub text: &'a str,
    /// Byte offset of `text` in the file.
    pub offset: usize,
    /// 1-based line of the first token.
    pub line: usize,
    /// The first keyword, upper-cased (`CREATE`, `BEGIN`, ...), empty if the statement starts with
    /// something else.
    pub first_word: String,
}

/// Splits `sql` into statements, as a server with `standard_conforming_strings = on` (the default
/// since PostgreSQL 9.1) reads it. Comment-only or empty pieces are dropped.
pub(crate) fn split<'a>(sql: &'a str) -> Vec<Statement<'a>> {
    split_with(sql, true)
}

/// Splits `sql` into statements, starting with the server's `standard_conforming_strings` setting
/// and following `SET`/`RESET standard_conforming_strings` statements in the file.
pub(crate) fn split_with<'a>(sql: &'a str, standard_conforming_strings: bool) -> Vec<Statement<'a>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None; // first token of the current statement
    let mut words: Vec<String> = Vec::new(); // leading words, to recognise CREATE FUNCTION
    let mut depth = 0usize; // BEGIN ATOMIC / CASE nesting inside a routine body
    let mut prev_word = String::new();
    let mut conforming = standard_conforming_strings;
    // Lines are counted incrementally: `line` is the line of byte `counted`.
    let (mut line, mut counted) = (1usize, 0usize);

    let mut finish = |start: &mut Option<usize>, end: usize, words: &mut Vec<String>, conforming: &mut bool| {
        if let Some(s) = start.take().filter(|&s| &sql[s..end] != ";") {
            line += b[counted..s].iter().filter(|&&c| c == b'\n').count();
            counted = s;
            let first_word = words.first().cloned().unwrap_or_default();
            if matches!(first_word.as_str(), "SET" | "RESET") {
                *conforming = conforming_after(&sql[s..end], *conforming);
            }
            out.push(Statement { text: &sql[s..end], offset: s, line, first_word });
        }
        words.clear();
    };

    while i < b.len() {
        let c = b[i];
        match c {
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let mut nest = 0usize;
                while i < b.len() {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        nest += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        nest -= 1;
                        i += 2;
                        if nest == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if start.is_none() {
            start = Some(i);
        }
        match c {
            b';' => {
                i += 1;
                if depth == 0 {
                    finish(&mut start, i, &mut words, &mut conforming);
                    prev_word.clear();
                }
            }
            b'\'' => {
                // E'..' allows backslash escapes; a plain '..' only when standard_conforming_strings
                // is off.
                let e_string = i > 0 && matches!(b[i - 1], b'e' | b'E') && (i < 2 || !is_ident(b[i - 2]));
                i = skip_quoted(b, i, b'\'', e_string || !conforming);
            }
            b'"' => i = skip_quoted(b, i, b'"', false),
            b'$' if i == 0 || !is_ident(b[i - 1]) => match dollar_tag(b, i) {
                Some(tag_len) => {
                    let tag = &b[i..i + tag_len];
                    let body = i + tag_len;
                    i = find(b, body, tag).map_or(b.len(), |end| end + tag_len);
                }
                None => i += 1,
            },
            c if is_ident_start(c) => {
                let s = i;
                while i < b.len() && is_ident(b[i]) {
                    i += 1;
                }
                let word = sql[s..i].to_ascii_uppercase();
                if words.len() < 4 {
                    words.push(word.clone());
                }
                if is_routine(&words) {
                    match word.as_str() {
                        "ATOMIC" if prev_word == "BEGIN" => depth += 1,
                        "CASE" if depth > 0 => depth += 1,
                        "END" if depth > 0 => depth -= 1,
                        _ => {}
                    }
                }
                prev_word = word;
            }
            _ => i += 1,
        }
    }
    finish(&mut start, sql.len(), &mut words, &mut conforming);
    out
}

/// The `standard_conforming_strings` setting after a `SET` or `RESET` statement (`current` when the
/// statement is about something else). `SET LOCAL` counts too: in a migration that runs in one
/// transaction it lasts to the end of the file.
fn conforming_after(stmt: &str, current: bool) -> bool {
    let words: Vec<String> = stmt
        .split(|c: char| c.is_whitespace() || c == '=' || c == ';')
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(|c| c == '\'' || c == '"').to_ascii_lowercase())
        .collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["reset", "all"] | ["reset", "standard_conforming_strings"] => true,
        ["set", "session" | "local", "standard_conforming_strings", rest @ ..]
        | ["set", "standard_conforming_strings", rest @ ..] => match rest {
            ["to", value] | [value] => match *value {
                "on" | "true" | "yes" | "1" | "default" => true,
                "off" | "false" | "no" | "0" => false,
                _ => current,
            },
            _ => current,
        },
        _ => current,
    }
}

/// Byte offset -> 1-based line, by binary search over the file's newlines: for callers that ask
/// for many lines of one file (the schema macro, per statement and per column).
#[allow(dead_code)] // each including crate uses a different subset
pub(crate) struct Lines(Vec<usize>);

#[allow(dead_code)]
impl Lines {
    pub(crate) fn new(sql: &str) -> Self {
        Lines(sql.bytes().enumerate().filter(|&(_, c)| c == b'\n').map(|(i, _)| i).collect())
    }

    /// The line of byte `at`.
    pub(crate) fn line(&self, at: usize) -> usize {
        1 + self.0.partition_point(|&nl| nl < at)
    }
}

/// `CREATE [OR REPLACE] FUNCTION|PROCEDURE`: the statements whose bodies may be `BEGIN ATOMIC`.
fn is_routine(words: &[String]) -> bool {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        ["CREATE", "FUNCTION" | "PROCEDURE", ..] | ["CREATE", "OR", "REPLACE", "FUNCTION" | "PROCEDURE", ..]
    )
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident(c: u8) -> bool {
    is_ident_start(c) || c.is_ascii_digit() || c == b'$'
}

/// Skips a quoted run starting at `i` (the opening quote); a doubled quote is an escaped quote.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, backslash_escapes: bool) -> usize {
    i += 1;
    while i < b.len() {
        if backslash_escapes && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Length of a dollar-quote opening tag at `i` (`$$` or `$tag$`), if there is one.
fn dollar_tag(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if j < b.len() && b[j].is_ascii_digit() {
        return None; // $1 is a parameter
    }
    while j < b.len() && (is_ident_start(b[j]) || b[j].is_ascii_digit()) {
        j += 1;
    }
    (j < b.len() && b[j] == b'$').then_some(j + 1 - i)
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<&str> {
        split(sql).into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn splits_at_top_level_semicolons_with_lines() {
        let sql = "-- header\nCREATE TABLE a (x int);\n\n/* block */ INSERT INTO a VALUES (1);\nSELECT 1";
        let stmts = split(sql);
        assert_eq!(
            stmts.iter().map(|s| (s.text, s.line, s.first_word.as_str())).collect::<Vec<_>>(),
            vec![
                ("CREATE TABLE a (x int);", 2, "CREATE"),
                ("INSERT INTO a VALUES (1);", 4, "INSERT"),
                ("SELECT 1", 5, "SELECT"),
            ]
        );
        assert_eq!(&sql[stmts[1].offset..stmts[1].offset + 6], "INSERT");
    }

    #[test]
    fn semicolons_inside_literals_comments_and_identifiers_do_not_split() {
        let sql = r#"INSERT INTO t VALUES ('a;b', 'it''s;', E'x\';y', "we;ird");
-- a comment; with a semicolon
/* outer /* nested; */ still comment; */ SELECT 2;"#;
        assert_eq!(texts(sql), vec![r#"INSERT INTO t VALUES ('a;b', 'it''s;', E'x\';y', "we;ird");"#, "SELECT 2;"]);
    }

    #[test]
    fn plain_strings_do_not_treat_backslash_as_escape() {
        assert_eq!(texts(r"SELECT 'a\'; SELECT 2;"), vec![r"SELECT 'a\';", "SELECT 2;"]);
    }

    #[test]
    fn dollar_quoted_bodies_are_one_statement() {
        let sql = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;\n\
                   CREATE FUNCTION g() RETURNS text AS $body$ SELECT 'x;$$y' $body$ LANGUAGE sql;\n\
                   SELECT $1, a$b FROM t;";
        let t = texts(sql);
        assert_eq!(t.len(), 3, "{t:#?}");
        assert!(t[0].ends_with("END; $$;"));
        assert!(t[1].ends_with("$body$ LANGUAGE sql;"));
        assert_eq!(t[2], "SELECT $1, a$b FROM t;");
    }

    #[test]
    fn begin_atomic_bodies_are_one_statement() {
        let sql = "CREATE OR REPLACE FUNCTION f(x int) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT CASE WHEN x > 0 THEN 1 ELSE 2 END;\n  SELECT 3;\nEND;\nSELECT 4;";
        let t = texts(sql);
        assert_eq!(t.len(), 2, "{t:#?}");
        assert!(t[0].ends_with("END;"));
        assert_eq!(t[1], "SELECT 4;");
    }

    #[test]
    fn transaction_blocks_and_case_outside_routines_split_normally() {
        let sql = "BEGIN;\nSELECT CASE WHEN true THEN 1 END;\nCOMMIT;";
        let s = split(sql);
        assert_eq!(s.iter().map(|s| s.first_word.as_str()).collect::<Vec<_>>(), ["BEGIN", "SELECT", "COMMIT"]);
    }

    #[test]
    fn with_standard_conforming_strings_off_a_backslash_escapes_a_quote() {
        let sql = "SET standard_conforming_strings = off;\nINSERT INTO t VALUES ('it\\'s; not a split');\n\
                   RESET standard_conforming_strings;\nSELECT 'a\\'; SELECT 2;";
        assert_eq!(
            texts(sql),
            vec![
                "SET standard_conforming_strings = off;",
                "INSERT INTO t VALUES ('it\\'s; not a split');",
                "RESET standard_conforming_strings;",
                "SELECT 'a\\';",
                "SELECT 2;",
            ]
        );
        // The server's own setting is the starting point.
        assert_eq!(split_with("SELECT 'a\\'; b';", false).len(), 1);
        for (stmt, expected) in [
            ("SET SESSION standard_conforming_strings TO 'off'", false),
            ("set local standard_conforming_strings=false", false),
            ("SET standard_conforming_strings TO DEFAULT", true),
            ("RESET ALL", true),
        ] {
            for current in [true, false] {
                assert_eq!(conforming_after(stmt, current), expected, "{stmt}");
            }
        }
        // Other settings leave it as it was.
        for current in [true, false] {
            assert_eq!(conforming_after("SET search_path = off", current), current);
        }
    }

    #[test]
    fn lines_are_counted_without_rescanning_and_match_the_line_index() {
        let sql = "SELECT 1;\n\n  SELECT\n2;\n-- c\nSELECT 3;";
        let stmts = split(sql);
        let lines = Lines::new(sql);
        assert_eq!(stmts.iter().map(|s| s.line).collect::<Vec<_>>(), [1, 3, 6]);
        for s in &stmts {
            assert_eq!(lines.line(s.offset), s.line);
        }
        assert_eq!(lines.line(sql.len()), 6);
    }

    #[test]
    fn comment_only_and_empty_input_give_nothing() {
        assert!(split("").is_empty());
        assert!(split("-- nothing\n/* here */\n").is_empty());
        assert_eq!(texts(";;SELECT 1;"), vec!["SELECT 1;"]);
    }

    #[test]
    fn unterminated_constructs_run_to_end_of_file() {
        assert_eq!(texts("SELECT 'oops; SELECT 2;"), vec!["SELECT 'oops; SELECT 2;"]);
        assert_eq!(texts("SELECT $$ oops; "), vec!["SELECT $$ oops; "]);
    }
}
