//! Procedural macros for taulu. Thin entry points only: read files, call the logic, turn errors
//! into `compile_error!`. The logic lives in plain modules, unit-tested without a compiler:
//! `ddl` (SQL -> changes, with PostgreSQL's own grammar), `model` (changes -> schema), `emit`
//! (schema -> tokens).

mod ddl;
mod derive;
mod emit;
mod files;
mod load;
mod model;
mod split;
mod sql;
mod sql_macro;
mod test_attr;

use proc_macro::TokenStream;
use quote::quote;

/// Typed tables, columns, rows, inserts and enums from a directory of migrations. See
/// `taulu::schema!` for the documentation.
#[proc_macro]
pub fn schema(input: TokenStream) -> TokenStream {
    let args = syn::parse_macro_input!(input as SchemaArgs);
    let lit = &args.dir;
    load::resolve(&lit.value(), proc_macro::Span::call_site().local_file())
        .and_then(|dir| {
            let mut tokens = expand(&dir)?;
            tokens.extend(sql_macro_rules(&dir, args.module.as_ref()));
            Ok(tokens)
        })
        .unwrap_or_else(|e| syn::Error::new(lit.span(), e).to_compile_error())
        .into()
}

/// `schema!("dir")` or `schema!("dir", module = crate::path::to::schema)`.
struct SchemaArgs {
    dir: syn::LitStr,
    module: Option<syn::Path>,
}

impl syn::parse::Parse for SchemaArgs {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let dir = input.parse()?;
        let mut module = None;
        if input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            if key != "module" {
                return Err(syn::Error::new(key.span(), "expected `module = crate::path::to::this::module`"));
            }
            input.parse::<syn::Token![=]>()?;
            let path: syn::Path = input.parse()?;
            if path.segments.first().is_none_or(|s| s.ident != "crate") {
                return Err(syn::Error::new_spanned(&path, "the module path starts with `crate::`"));
            }
            module = Some(path);
            input.parse::<Option<syn::Token![,]>>()?;
        }
        Ok(SchemaArgs { dir, module })
    }
}

/// The `sql!` of this schema: a `macro_rules!` that hands the migrations directory and the
/// schema module (as `$crate::..`, valid in other crates too) to `typed_sql!`.
fn sql_macro_rules(dir: &std::path::Path, module: Option<&syn::Path>) -> proc_macro2::TokenStream {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    quote!(#module).to_string().hash(&mut h);
    let name = quote::format_ident!("__taulu_sql_{:016x}", h.finish());
    let dir = dir.display().to_string();
    let module = module.map(|p| {
        let rest = p.segments.iter().skip(1).map(|s| &s.ident);
        quote!($crate #(:: #rest)*)
    });
    quote! {
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #name {
            ($($args:tt)*) => { ::taulu::__private::typed_sql!(#dir [#module] $($args)*) };
        }
        /// A statement written in SQL, typed against these migrations at build time: see
        /// `taulu::query::TypedSql`.
        #[doc(inline)]
        pub use #name as sql;
    }
}

/// `sql!`'s work: see `taulu::query::TypedSql`. Called by the `sql!` that `schema!` emits.
#[doc(hidden)]
#[proc_macro]
pub fn typed_sql(input: TokenStream) -> TokenStream {
    sql_macro::expand(input.into()).into()
}

/// A corpus of statements typed one by one, refusals included: `sql_corpus!("migrations",
/// "corpus.sql")`, for measuring `sql!`'s accuracy against PREPARE.
#[doc(hidden)]
#[proc_macro]
pub fn sql_corpus(input: TokenStream) -> TokenStream {
    sql_macro::corpus(input.into()).into()
}

/// Every `sql!` statement in a crate's sources, typed: see `taulu::sql_statements!`.
#[proc_macro]
pub fn sql_statements(input: TokenStream) -> TokenStream {
    sql_macro::statements(input.into()).into()
}

/// A directory of migration files embedded in the binary, checked at build time. See
/// `taulu::migrations!` for the documentation.
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    let lit = syn::parse_macro_input!(input as syn::LitStr);
    load::resolve(&lit.value(), proc_macro::Span::call_site().local_file())
        .and_then(|dir| embed(&lit.value(), &dir))
        .unwrap_or_else(|e| syn::Error::new(lit.span(), e).to_compile_error())
        .into()
}

/// `#[taulu::test]`: an async test with a fresh database of its own. See `taulu::test`.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test_attr::expand(args.into(), item.into()).unwrap_or_else(|e| e.to_compile_error()).into()
}

/// `#[derive(FromRow)]`: see `taulu::FromRow`.
#[proc_macro_derive(FromRow)]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::from_row(input).unwrap_or_else(|e| e.to_compile_error()).into()
}

/// Reads, replays and emits; every migration error becomes its own `compile_error!`.
fn expand(dir: &std::path::Path) -> Result<proc_macro2::TokenStream, String> {
    let files = load::up_files(dir)?;
    let sources: Vec<(String, String)> =
        files.iter().map(|(name, path, sql)| (display_path(dir, name, path), sql.clone())).collect();
    let (schema, mut errors) = model::build(&sources);
    let paths: Vec<String> = files.iter().map(|(_, path, _)| path.display().to_string()).collect();
    let (mut tokens, emit_errors) = emit::emit(&schema, &paths);
    errors.extend(emit_errors);
    for e in errors {
        let message = format!("{}: {}", e.origin, e.message);
        tokens.extend(quote!(::core::compile_error!(#message);));
    }
    Ok(tokens)
}

/// `::taulu::migrate::Embedded::__new(dir, &[(file, include_str!(path)), ..])`, after checking the
/// set with the runner's own rules (`files.rs`, shared with it).
fn embed(given: &str, dir: &std::path::Path) -> Result<proc_macro2::TokenStream, String> {
    let files = load::sql_files(dir)?;
    files::check(files.iter().map(|(name, _, sql)| (name.clone(), sql.clone())))
        .map_err(|e| format!("{}: {}", display_path(dir, &e.file, dir), e.reason))?;
    let entries = files.iter().map(|(name, path, _)| {
        let path = path.display().to_string();
        quote!((#name, ::core::include_str!(#path)))
    });
    Ok(quote!(::taulu::migrate::Embedded::__new(#given, &[#(#entries),*])))
}

/// `migrations/000001_x.up.sql`: the directory's last component and the file name.
fn display_path(dir: &std::path::Path, name: &str, _path: &std::path::Path) -> String {
    match dir.file_name() {
        Some(d) => format!("{}/{name}", d.to_string_lossy()),
        None => name.to_owned(),
    }
}
