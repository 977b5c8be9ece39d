//! `sql!` (through the macro `schema!` emits) and `sql_statements!`: tokens in, tokens out; the
//! typing itself is `sql::type_statement`. The schema model is built once per migrations directory
//! and compiler process, and rebuilt when a file changes.

use crate::files::Layout;
use std::{
    cell::RefCell,
    collections::HashMap,
    path::{Path, PathBuf},
    rc::Rc,
    time::{Duration, Instant},
};

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned};
use syn::{
    LitStr, Token,
    parse::{Parse, ParseStream},
    punctuated::Punctuated,
};

use crate::{
    emit::{rust_type, snake},
    model::Schema,
    sql::{self, Typed, resolve::Env},
};

/// A migrations directory's stamp (see [`stamp`]), when it was taken, and the model built from
/// its files.
struct Cached {
    stamp: Stamp,
    taken: Instant,
    model: Rc<Schema>,
}

type Stamp = Vec<(std::ffi::OsString, u64, std::time::SystemTime)>;

thread_local! {
    static MODELS: RefCell<HashMap<(PathBuf, Option<Layout>), Cached>> = RefCell::new(HashMap::new());
}

/// How long a stamp is trusted without looking again: a compilation expands its `sql!`s within
/// moments, and a long-lived process (an IDE's macro server) sees an edit this much later.
const TRUST: Duration = Duration::from_millis(500);

/// What tells a directory's files have changed, without reading them: each entry's name, length
/// and modification time.
fn stamp(dir: &Path) -> Option<Stamp> {
    fn walk(dir: &Path, files: &mut Stamp) -> Option<()> {
        for entry in std::fs::read_dir(dir).ok()? {
            let entry = entry.ok()?;
            let meta = std::fs::metadata(entry.path()).ok()?;
            if meta.is_dir() {
                walk(&entry.path(), files)?;
            }
            files.push((entry.path().into_os_string(), meta.len(), meta.modified().ok()?));
        }
        Some(())
    }
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    Some(files)
}

/// The schema model of `dir`, from the cache while its files are unchanged. (Reading the files
/// for every statement took a fifth of a `sql!`'s expansion, `stat`ing them a twentieth.)
pub fn model(dir: &Path, layout: Option<Layout>) -> Result<Rc<Schema>, String> {
    let key = (dir.to_path_buf(), layout);
    let fresh = MODELS.with(|m| {
        let mut m = m.borrow_mut();
        let hit = m.get_mut(&key)?;
        if hit.taken.elapsed() > TRUST {
            if stamp(dir).as_ref() != Some(&hit.stamp) {
                return None;
            }
            hit.taken = Instant::now();
        }
        Some(hit.model.clone())
    });
    if let Some(model) = fresh {
        return Ok(model);
    }
    let stamp = stamp(dir);
    let sources = crate::load::up_sources(dir, layout)?;
    let (schema, errors) = crate::model::build(&sources);
    if let Some(e) = errors.first() {
        return Err(format!(
            "the migrations do not build a schema ({}: {}); see the error at schema!",
            e.origin, e.message
        ));
    }
    let model = Rc::new(schema);
    if let Some(stamp) = stamp {
        let cached = Cached { stamp, taken: Instant::now(), model: model.clone() };
        MODELS.with(|m| m.borrow_mut().insert(key, cached));
    }
    Ok(model)
}

/// The widest row read through a generic twin (`taulu::__private::cols::Cols1`..`Cols32`).
const MAX_COLS: usize = 32;

/// `typed_sql!("dir" "layout" [module path] [as Type, | scalar,] "SQL", args..)` (`""`: the layout
/// detected).
struct Input {
    dir: LitStr,
    layout: LitStr,
    module: TokenStream,
    form: Form,
    sql: LitStr,
    args: Vec<syn::Expr>,
}

/// What the rows are read into.
enum Form {
    /// A struct of the statement's own, with a field per column.
    Row,
    /// `as T`: the caller's struct.
    As(Box<syn::Type>),
    /// `scalar`: the one column's value.
    Scalar,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let dir: LitStr = input.parse()?;
        let layout: LitStr = input.parse()?;
        let module = input.step(|cursor| match cursor.group(Delimiter::Bracket) {
            Some((inside, _, rest)) => Ok((inside.token_stream(), rest)),
            None => Err(cursor.error("expected [module]")),
        })?;
        let form = if input.peek(Token![as]) {
            input.parse::<Token![as]>()?;
            let ty: syn::Type = input.parse()?;
            input.parse::<Token![,]>()?;
            Form::As(Box::new(ty))
        } else if input.peek(syn::Ident) {
            let word: syn::Ident = input.parse()?;
            if word != "scalar" {
                return Err(syn::Error::new(word.span(), "expected `as Type,`, `scalar,` or the statement"));
            }
            input.parse::<Token![,]>()?;
            Form::Scalar
        } else {
            Form::Row
        };
        let sql: LitStr = input.parse().map_err(|e| {
            syn::Error::new(e.span(), "sql! takes the statement as a string literal first, then one value per $n")
        })?;
        let mut args = Vec::new();
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
            args = Punctuated::<syn::Expr, Token![,]>::parse_terminated(input)?.into_iter().collect();
        }
        Ok(Input { dir, layout, module, form, sql, args })
    }
}

/// Where in the SQL an error is: the line with a caret under the offset.
fn pointer(sql: &str, at: Option<usize>) -> String {
    let Some(at) = at.filter(|a| *a <= sql.len()) else { return String::new() };
    let start = sql[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = sql[at..].find('\n').map_or(sql.len(), |i| at + i);
    let line = &sql[start..end];
    let col = sql[start..at].chars().count();
    format!("\n  | {line}\n  | {}^", " ".repeat(col))
}

pub fn expand(input: TokenStream) -> TokenStream {
    let input: Input = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    expand_input(&input).unwrap_or_else(|e| e.to_compile_error())
}

fn expand_input(input: &Input) -> syn::Result<TokenStream> {
    let span = input.sql.span();
    let fail = |m: String| syn::Error::new(span, m);
    let layout = match input.layout.value().as_str() {
        "" => None,
        name => Some(Layout::named(name).map_err(fail)?),
    };
    let schema = model(Path::new(&input.dir.value()), layout).map_err(fail)?;
    let text = input.sql.value();
    let typed =
        sql::type_statement(&schema, &text).map_err(|e| fail(format!("{}{}", e.message, pointer(&text, e.at))))?;
    if typed.params.len() != input.args.len() {
        return Err(fail(format!(
            "the statement has {} parameter(s) ($1..${}) but {} value(s) are given",
            typed.params.len(),
            typed.params.len(),
            input.args.len()
        )));
    }
    let env = Env { cat: sql::catalog::get(), schema: &schema };
    let root = if input.module.is_empty() {
        TokenStream::new()
    } else {
        {
            let m = &input.module;
            quote!(#m::)
        }
    };
    let rust = |ty: u32, what: &str| -> syn::Result<TokenStream> {
        let (tokens, uses_enum) = rust_type(&schema, &env.col(ty), &root).map_err(|m| fail(format!("{what}: {m}")))?;
        if uses_enum && input.module.is_empty() {
            return Err(fail(format!(
                "{what} is of the enum type {}, and sql! needs the schema module's path to name its Rust enum: \
                 write `taulu::schema!(\"migrations\", module = crate::path::to::schema)`",
                env.name(ty)
            )));
        }
        Ok(tokens)
    };
    let mut args = Vec::new();
    for (i, (ty, arg)) in typed.params.iter().zip(&input.args).enumerate() {
        let t = rust(*ty, &format!("${}", i + 1))?;
        let s = syn::spanned::Spanned::span(arg);
        args.push(quote_spanned!(s=> ::taulu::__private::sql_arg::<#t, _>(#arg)));
    }
    let fields = row_fields(&typed, &rust, &fail)?;
    let types: Vec<&TokenStream> = fields.iter().map(|(_, t)| t).collect();
    match &input.form {
        Form::Row => {}
        Form::As(target) => {
            let shape = shape_tokens(&typed, &env, &text, &origin(span));
            let at = syn::spanned::Spanned::span(target);
            return Ok(quote_spanned! {at=> {
                fn __taulu_fields_match<R: ::taulu::query::RowStruct>()
                where
                    (#(#types,)*): ::taulu::query::MatchesFields<R, R::Fields>,
                {
                }
                let _ = __taulu_fields_match::<#target>;
                static SHAPE: ::taulu::query::SqlShape = #shape;
                ::taulu::query::TypedAs::<#target>::__new(&SHAPE, ::std::vec![#(#args),*])
            }});
        }
        Form::Scalar => {
            let [value] = types.as_slice() else {
                return Err(fail(format!("sql!(scalar, ..) reads one column; this statement has {}", types.len())));
            };
            let shape = shape_tokens(&typed, &env, &text, &origin(span));
            return Ok(quote! {{
                static SHAPE: ::taulu::query::SqlShape = #shape;
                ::taulu::query::TypedScalar::<#value>::__new(&SHAPE, ::std::vec![#(#args),*])
            }});
        }
    }
    // The row is read as `Cols<N>` of its field types (reading code shared by every statement with
    // the same column types) and reinterpreted as the struct, which has the same layout; past
    // `MAX_COLS` columns, the struct reads itself.
    let read_self = types.len() > MAX_COLS;
    let columns = if !read_self {
        let cols = quote::format_ident!("Cols{}", types.len());
        quote!(::taulu::__private::cols::#cols<#(#types),*>)
    } else {
        quote!(Self)
    };
    let read_self = read_self.then(|| {
        let gets = (0..types.len()).map(|i| quote!(::taulu::__private::get(row, start + #i)?));
        let names = fields.iter().map(|(name, _)| name);
        quote! {
            impl ::taulu::FromRow for Row {
                fn from_row_at(row: &::taulu::__private::PgRow, start: usize) -> ::core::result::Result<Self, ::taulu::Error> {
                    ::core::result::Result::Ok(Row { #(#names: #gets,)* })
                }
            }
        }
    });
    let shape = shape_tokens(&typed, &env, &text, &origin(span));
    let row = if fields.is_empty() { quote!(()) } else { quote!(Row) };
    // A type the caller names in an override may not be `Debug` or `Clone`.
    let named_types = typed.columns.iter().any(|c| column_override(&c.name).is_ok_and(|(_, _, t)| t.is_some()));
    let derives = (!named_types).then(|| quote!(#[derive(Debug, Clone)]));
    let row_def = (!fields.is_empty()).then(|| {
        let decls = fields.iter().map(|(name, ty)| quote!(pub #name: #ty));
        let def = quote! {
            /// One result row of the statement.
            #derives
            #[repr(C)]
            struct Row { #(#decls,)* }
        };
        // serde (taulu's `serde` feature) only where every type is ours to know: through the column
        // layout's shared code, or serde's derives for a row that reads itself.
        // As serde names a field: without `r#`.
        let names = fields.iter().map(|(name, _)| name.to_string().trim_start_matches("r#").to_owned());
        let (def, serde) = match (named_types, read_self.is_some()) {
            (true, _) => (def, None),
            (false, true) => (quote!(::taulu::__taulu_serde! { #def }), None),
            (false, false) => (def, Some(quote!(::taulu::__taulu_row_serde!(Row, &[#(#names),*]);))),
        };
        quote! {
            #def
            #serde
            // SAFETY: both `#[repr(C)]`, with the same field types in the same order.
            unsafe impl ::taulu::__private::SqlRow for Row {
                type Columns = #columns;
            }
            #read_self
        }
    });
    Ok(quote! {{
        #row_def
        static SHAPE: ::taulu::query::SqlShape = #shape;
        ::taulu::query::TypedSql::<#row>::__new(&SHAPE, ::std::vec![#(#args),*])
    }})
}

type Fail<'a> = dyn Fn(String) -> syn::Error + 'a;

/// What a result column's name says, as sqlx reads it: the field's name, `!` (NOT NULL, a plain
/// field) or `?` (nullable, an `Option`), and after `: ` the Rust type to read it as (`_`: the
/// type taulu infers). `"kind: Kind"`, `"id!: i64"`, `"total?"`, `"note"`.
fn column_override(name: &str) -> Result<(&str, Option<bool>, Option<syn::Type>), String> {
    let (head, ty) = match name.split_once(':') {
        Some((head, ty)) => (head.trim_end(), Some(ty.trim())),
        None => (name, None),
    };
    let (field, nullable) = match (head.strip_suffix('!'), head.strip_suffix('?')) {
        (Some(n), _) => (n, Some(false)),
        (_, Some(n)) => (n, Some(true)),
        _ => (head, None),
    };
    let ty = match ty {
        None | Some("_") => None,
        Some(t) => Some(syn::parse_str::<syn::Type>(t).map_err(|e| {
            format!("column \"{name}\": `{t}` is not a Rust type ({e}); write `AS \"{field}: path::to::Type\"`")
        })?),
    };
    Ok((field, nullable, ty))
}

/// The row struct's fields (name, type), with each column's override (see [`column_override`]).
fn row_fields(
    typed: &Typed,
    rust: &dyn Fn(u32, &str) -> syn::Result<TokenStream>,
    fail: &Fail,
) -> syn::Result<Vec<(proc_macro2::Ident, TokenStream)>> {
    let mut fields = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in typed.columns.iter().enumerate() {
        if c.name == "?column?" {
            return Err(fail(format!("result column {} has no name: give it one with AS", i + 1)));
        }
        let (name, nullable, given) = column_override(&c.name).map_err(fail)?;
        let nullable = nullable.unwrap_or(c.nullable);
        let field = snake(name);
        if !seen.insert(field.to_string()) {
            return Err(fail(format!("two result columns are named `{field}`: rename one with AS")));
        }
        let t = match given {
            Some(t) => quote!(#t),
            None => rust(c.ty, &format!("column \"{name}\""))?,
        };
        let t = if nullable { quote!(::core::option::Option<#t>) } else { t };
        fields.push((field, t));
    }
    Ok(fields)
}

fn shape_tokens(typed: &Typed, env: &Env, text: &str, origin: &str) -> TokenStream {
    let params = typed.params.iter().map(|&p| env.name(p));
    let columns = typed.columns.iter().map(|c| {
        let (name, ty) = (&c.name, env.name(c.ty));
        let nullable = c.nullable;
        quote!((#name, #ty, #nullable))
    });
    let read_only = typed.read_only;
    quote! {
        ::taulu::query::SqlShape {
            sql: #text,
            params: &[#(#params),*],
            columns: &[#(#columns),*],
            read_only: #read_only,
            origin: #origin,
        }
    }
}

fn origin(span: Span) -> String {
    let span = span.unwrap();
    let file = span.local_file().map(|f| f.display().to_string()).unwrap_or_default();
    format!("{file}:{}", span.line())
}

/// The string literals of `sql_statements!` / `sql_corpus!`.
fn literals(input: TokenStream) -> Result<Vec<LitStr>, TokenStream> {
    syn::parse::Parser::parse2(Punctuated::<LitStr, Token![,]>::parse_terminated, input)
        .map(|p| p.into_iter().collect())
        .map_err(|e| e.to_compile_error())
}

/// The model of the migrations directory `dir` names (relative to the crate root, or to the
/// invoking file); an error at `dir`.
fn model_named(dir: &LitStr) -> Result<Rc<Schema>, TokenStream> {
    let caller = proc_macro::Span::call_site().local_file();
    crate::load::resolve(&dir.value(), caller)
        .and_then(|d| model(&d, None))
        .map_err(|e| syn::Error::new(dir.span(), e).to_compile_error())
}

/// A path relative to the crate root.
fn in_crate(path: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default()).join(path)
}

/// `sql_statements!("migrations", "src", "tests", ..)`: every `sql!("..", ..)` in the Rust files
/// under the given directories (relative to the crate root), typed against the migrations, as a
/// `&'static [SqlShape]`.
pub fn statements(input: TokenStream) -> TokenStream {
    let lits = match literals(input) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let Some((dir, sources)) = lits.split_first() else {
        return quote!(::core::compile_error!(
            "sql_statements!(\"migrations\", \"src\", ..): the migrations, then the directories to search"
        ));
    };
    let fail = |m: String| syn::Error::new(dir.span(), m).to_compile_error();
    let schema = match model_named(dir) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let env = Env { cat: sql::catalog::get(), schema: &schema };
    let mut shapes = Vec::new();
    let mut inputs = Vec::new();
    for src in sources {
        let root = in_crate(&src.value());
        if !root.exists() {
            let m = format!("{} not found (a path relative to the crate root, CARGO_MANIFEST_DIR)", root.display());
            return syn::Error::new(src.span(), m).to_compile_error();
        }
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        files.sort();
        for file in files {
            let Ok(text) = std::fs::read_to_string(&file) else { continue };
            let Ok(tokens) = text.parse::<TokenStream>() else { continue };
            let display = file.display().to_string();
            inputs.push(quote!(
                const _: &str = ::core::include_str!(#display);
            ));
            let mut found = Vec::new();
            find_sql_calls(tokens, &mut found);
            for sql in found {
                let first = sql.lines().next().unwrap_or_default();
                let line = text.find(first).map_or(0, |at| text[..at].lines().count().max(1));
                let origin = format!("{display}:{line}");
                match sql::type_statement(&schema, &sql) {
                    Ok(typed) => shapes.push(shape_tokens(&typed, &env, &sql, &origin)),
                    Err(e) => return fail(format!("{origin}: {}{}", e.message, pointer(&sql, e.at))),
                }
            }
        }
    }
    quote! {{
        #(#inputs)*
        const STATEMENTS: &[::taulu::query::SqlShape] = &[#(#shapes),*];
        STATEMENTS
    }}
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if dir.is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The statements of the `sql!("..", ..)` / `path::sql!("..")` invocations in a token stream.
fn find_sql_calls(tokens: TokenStream, out: &mut Vec<String>) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in trees.iter().enumerate() {
        match t {
            TokenTree::Ident(id) if id == "sql" => {
                let bang = matches!(trees.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if let (true, Some(TokenTree::Group(g))) = (bang, trees.get(i + 2))
                    && let Some(TokenTree::Literal(lit)) = g.stream().into_iter().next()
                    && let Ok(s) = syn::parse2::<LitStr>(TokenTree::Literal(lit.clone()).into())
                {
                    out.push(s.value());
                }
            }
            TokenTree::Group(g) => find_sql_calls(g.stream(), out),
            _ => {}
        }
    }
}

/// `sql_corpus!("migrations", "corpus.sql")`: every statement of the file (split like a
/// migration), typed or refused, with the nullability a `-- nullable: yes no ..` comment right
/// before it states.
pub fn corpus(input: TokenStream) -> TokenStream {
    let lits = match literals(input) {
        Ok(l) => l,
        Err(e) => return e,
    };
    let [dir, file] = lits.as_slice() else {
        return quote!(::core::compile_error!("sql_corpus!(\"migrations\", \"corpus.sql\")"));
    };
    let schema = match model_named(dir) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let path = in_crate(&file.value());
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return syn::Error::new(dir.span(), format!("{}: {e}", path.display())).to_compile_error(),
    };
    let env = Env { cat: sql::catalog::get(), schema: &schema };
    let mut entries = Vec::new();
    let mut previous_end = 0;
    for stmt in crate::split::split(&text) {
        let before = &text[previous_end..stmt.offset];
        previous_end = stmt.offset + stmt.text.len();
        let nullable = before.lines().rev().find_map(|l| l.trim().strip_prefix("-- nullable:")).map(|list| {
            let flags = list.split_whitespace().map(|w| w == "yes");
            quote!(::core::option::Option::Some(&[#(#flags),*]))
        });
        let nullable = nullable.unwrap_or_else(|| quote!(::core::option::Option::None));
        let sql = stmt.text.trim_end_matches(';').trim();
        let line = stmt.line;
        let typed = match sql::type_statement(&schema, sql) {
            Ok(t) => {
                let shape = shape_tokens(&t, &env, sql, &format!("{}:{line}", path.display()));
                quote!(::core::result::Result::Ok(#shape))
            }
            Err(e) => {
                let m = e.message;
                quote!(::core::result::Result::Err(#m))
            }
        };
        entries
            .push(quote!(::taulu::query::CorpusEntry { line: #line, sql: #sql, typed: #typed, nullable: #nullable }));
    }
    let display = path.display().to_string();
    quote! {{
        const _: &str = ::core::include_str!(#display);
        const ENTRIES: &[::taulu::query::CorpusEntry] = &[#(#entries),*];
        ENTRIES
    }}
}
