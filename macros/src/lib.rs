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
            let (rows, enums) = (&args.rows, &args.enums);
            let attrs = emit::UserAttrs { rows: quote!(#(#rows)*), enums: quote!(#(#enums)*) };
            let mut tokens = expand(&dir, args.layout, &attrs)?;
            tokens.extend(sql_macro_rules(&dir, args.layout, args.module.as_ref()));
            Ok(tokens)
        })
        .unwrap_or_else(|e| syn::Error::new(lit.span(), e).to_compile_error())
        .into()
}

/// `schema!("dir")`, with `layout = "sqlx"`, `module = crate::path::to::schema`,
/// `rows = { #[..] .. }` and `enums = { #[..] .. }` after it in any order (`migrations!` takes
/// `layout` only).
struct SchemaArgs {
    dir: syn::LitStr,
    layout: Option<files::Layout>,
    module: Option<syn::Path>,
    rows: Vec<syn::Attribute>,
    enums: Vec<syn::Attribute>,
}

impl syn::parse::Parse for SchemaArgs {
    fn parse(input: syn::parse::ParseStream) -> syn::Result<Self> {
        let dir = input.parse()?;
        let (mut layout, mut module, mut rows, mut enums) = (None, None, Vec::new(), Vec::new());
        while input.parse::<Option<syn::Token![,]>>()?.is_some() && !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            input.parse::<syn::Token![=]>()?;
            if key == "layout" {
                let name: syn::LitStr = input.parse()?;
                layout = Some(files::Layout::named(&name.value()).map_err(|e| syn::Error::new(name.span(), e))?);
            } else if key == "module" {
                let path: syn::Path = input.parse()?;
                if path.segments.first().is_none_or(|s| s.ident != "crate") {
                    return Err(syn::Error::new_spanned(&path, "the module path starts with `crate::`"));
                }
                module = Some(path);
            } else if key == "rows" || key == "enums" {
                let content;
                syn::braced!(content in input);
                let attrs = content.call(syn::Attribute::parse_outer)?;
                if !content.is_empty() {
                    return Err(content.error("expected attributes only: `{ #[derive(..)] #[serde(..)] }`"));
                }
                if key == "rows" { rows = attrs } else { enums = attrs }
            } else {
                return Err(syn::Error::new(
                    key.span(),
                    "expected `layout = \"golang-migrate\" | \"sqlx\" | \"diesel\" | \"refinery\"`, \
                     `module = crate::path::to::this::module`, `rows = { #[derive(..)] }` or \
                     `enums = { #[derive(..)] }`",
                ));
            }
        }
        Ok(SchemaArgs { dir, layout, module, rows, enums })
    }
}

/// The `sql!` of this schema: a `macro_rules!` that hands the migrations directory and the
/// schema module (as `$crate::..`, valid in other crates too) to `typed_sql!`.
fn sql_macro_rules(
    dir: &std::path::Path,
    layout: Option<files::Layout>,
    module: Option<&syn::Path>,
) -> proc_macro2::TokenStream {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    quote!(#module).to_string().hash(&mut h);
    let name = quote::format_ident!("__taulu_sql_{:016x}", h.finish());
    let dir = dir.display().to_string();
    let layout = layout.map_or("", files::Layout::name);
    let module = module.map(|p| {
        let rest = p.segments.iter().skip(1).map(|s| &s.ident);
        quote!($crate #(:: #rest)*)
    });
    quote! {
        #[doc(hidden)]
        #[macro_export]
        macro_rules! #name {
            ($($args:tt)*) => { ::taulu::__private::typed_sql!(#dir #layout [#module] $($args)*) };
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
    let args = syn::parse_macro_input!(input as SchemaArgs);
    if let Some(module) = &args.module {
        return syn::Error::new_spanned(module, "migrations! takes `layout = ..` only").to_compile_error().into();
    }
    if let Some(attr) = args.rows.first().or(args.enums.first()) {
        return syn::Error::new_spanned(attr, "migrations! takes `layout = ..` only").to_compile_error().into();
    }
    let lit = &args.dir;
    load::resolve(&lit.value(), proc_macro::Span::call_site().local_file())
        .and_then(|dir| embed(&lit.value(), &dir, args.layout))
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
fn expand(
    dir: &std::path::Path,
    layout: Option<files::Layout>,
    attrs: &emit::UserAttrs,
) -> Result<proc_macro2::TokenStream, String> {
    let (_, files, checked) = load::migrations(dir, layout)?;
    let sources: Vec<(String, String)> =
        checked.iter().map(|m| (load::shown_path(dir, &m.up.file), m.up.sql.clone())).collect();
    let (schema, mut errors) = model::build(&sources);
    // Every file of the directory is a dependency: an edit (or a down file's) rebuilds.
    let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
    let (mut tokens, emit_errors) = emit::emit(&schema, &paths, attrs);
    errors.extend(emit_errors);
    for e in errors {
        let message = format!("{}: {}", e.origin, e.message);
        tokens.extend(quote!(::core::compile_error!(#message);));
    }
    Ok(tokens)
}

/// `::taulu::migrate::Embedded::__new(dir, layout, &[(file, include_str!(path)), ..])`, after
/// checking the set with the runner's own rules (`files.rs`, shared with it).
fn embed(
    given: &str,
    dir: &std::path::Path,
    layout: Option<files::Layout>,
) -> Result<proc_macro2::TokenStream, String> {
    let (layout, files, _) = load::migrations(dir, layout)?;
    let layout = layout.name();
    let entries = files.iter().map(|f| {
        let (name, path) = (&f.name, f.path.display().to_string());
        quote!((#name, ::core::include_str!(#path)))
    });
    Ok(quote!(::taulu::migrate::Embedded::__new(#given, #layout, &[#(#entries),*])))
}
