//! Splits a migration file into statements at top-level semicolons, the way `psql` does: it skips
//! string literals (`'..'`, `E'..'`), quoted identifiers, dollar-quoted bodies (`$tag$..$tag$`),
//! line and nested block comments, and SQL-standard `BEGIN ATOMIC .. END` function bodies.
//!
//! Lexical only: it never interprets SQL. Shared by two crates (the runtime includes this file with
//! `#[path]`): the migration runner executes and reports one statement at a time with it, and the
//! schema macro uses it to find the line of a statement PostgreSQL's parser rejects.

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

/// Splits `sql` into statements. Comment-only or empty pieces are dropped.
pub(crate) fn split<'a>(sql: &'a str) -> Vec<Statement<'a>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut start: Option<usize> = None; // first token of the current statement
    let mut words: Vec<String> = Vec::new(); // leading words, to recognise CREATE FUNCTION
    let mut depth = 0usize; // BEGIN ATOMIC / CASE nesting inside a routine body
    let mut prev_word = String::new();

    let finish = |start: &mut Option<usize>, end: usize, words: &mut Vec<String>, out: &mut Vec<Statement<'a>>| {
        if let Some(s) = start.take().filter(|&s| &sql[s..end] != ";") {
            out.push(Statement {
                text: &sql[s..end],
                offset: s,
                line: 1 + sql[..s].bytes().filter(|&c| c == b'\n').count(),
                first_word: words.first().cloned().unwrap_or_default(),
            });
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
                    finish(&mut start, i, &mut words, &mut out);
                    prev_word.clear();
                }
            }
            b'\'' => {
                // E'..' allows backslash escapes; a plain '..' does not (standard_conforming_strings).
                let escapes = i > 0 && matches!(b[i - 1], b'e' | b'E') && (i < 2 || !is_ident(b[i - 2]));
                i = skip_quoted(b, i, b'\'', escapes);
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
    finish(&mut start, sql.len(), &mut words, &mut out);
    out
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
