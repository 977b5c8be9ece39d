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
mod test_attr;

use proc_macro::TokenStream;
use quote::quote;

/// Typed tables, columns, rows, inserts and enums from a directory of migrations. See
/// `taulu::schema!` for the documentation.
#[proc_macro]
pub fn schema(input: TokenStream) -> TokenStream {
    let lit = syn::parse_macro_input!(input as syn::LitStr);
    load::resolve(&lit.value(), proc_macro::Span::call_site().local_file())
        .and_then(|dir| expand(&dir))
        .unwrap_or_else(|e| syn::Error::new(lit.span(), e).to_compile_error())
        .into()
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
