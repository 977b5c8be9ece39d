//! `#[taulu::test]`: an async test that receives a fresh database of its own, with the named
//! migrations applied (like `#[sqlx::test]`).

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Expr, ItemFn, Lit, Token, parse::Parser as _, punctuated::Punctuated, spanned::Spanned as _};

/// Where the test's migrations come from.
enum Source {
    /// `migrations = "dir"` (or nothing: `"migrations"`): embedded for this test.
    Dir(syn::LitStr),
    /// `migrations = PATH`: an `Embedded` (or `Migrations`) value the user declared.
    Value(Expr),
}

pub fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    let source = parse_args(args)?;
    let mut f: ItemFn = syn::parse2(item)?;
    if f.sig.asyncness.is_none() {
        return Err(syn::Error::new(f.sig.fn_token.span(), "#[taulu::test] needs an `async fn`"));
    }
    if f.sig.inputs.len() != 1 {
        let at = if f.sig.inputs.is_empty() { f.sig.ident.span() } else { f.sig.inputs.span() };
        return Err(syn::Error::new(
            at,
            "#[taulu::test] functions take one argument, the test's database: `db: taulu::testing::TestDb`",
        ));
    }
    let attrs = std::mem::take(&mut f.attrs);
    let name = f.sig.ident.clone();
    let output = f.sig.output.clone();
    let inner = format_ident!("__taulu_test_{}", name);
    f.sig.ident = inner.clone();
    f.vis = syn::Visibility::Inherited;
    let (decl, migrations) = match source {
        Source::Dir(dir) => (
            quote!(
                static __TAULU_MIGRATIONS: ::taulu::migrate::Embedded = ::taulu::migrations!(#dir);
            ),
            quote!(&__TAULU_MIGRATIONS),
        ),
        Source::Value(expr) => (quote!(), quote!(&#expr)),
    };
    Ok(quote! {
        #[::core::prelude::v1::test]
        #(#attrs)*
        fn #name() #output {
            #decl
            #f
            ::taulu::testing::__run(#migrations, #inner)
        }
    })
}

fn parse_args(args: TokenStream) -> syn::Result<Source> {
    let pairs = Punctuated::<syn::MetaNameValue, Token![,]>::parse_terminated.parse2(args)?;
    let mut source = None;
    for pair in pairs {
        if !pair.path.is_ident("migrations") || source.is_some() {
            return Err(syn::Error::new(
                pair.span(),
                "#[taulu::test] takes one argument: `migrations = \"dir\"` or `migrations = STATIC` \
                 (a `taulu::migrations!` value)",
            ));
        }
        source = Some(match pair.value {
            Expr::Lit(syn::ExprLit { lit: Lit::Str(dir), .. }) => Source::Dir(dir),
            other => Source::Value(other),
        });
    }
    Ok(source.unwrap_or_else(|| Source::Dir(syn::LitStr::new("migrations", proc_macro2::Span::call_site()))))
}
