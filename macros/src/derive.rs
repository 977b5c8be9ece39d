//! `#[derive(FromRow)]`: a struct read from a result row, field by field in declaration order, and
//! the tuple of its fields (name and type), which the builder compares with the query's row at
//! compile time.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub fn from_row(input: DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(f) => f.named.iter().collect::<Vec<_>>(),
            _ => return Err(syn::Error::new_spanned(name, "#[derive(FromRow)] needs a struct with named fields")),
        },
        _ => return Err(syn::Error::new_spanned(name, "#[derive(FromRow)] needs a struct with named fields")),
    };
    if fields.is_empty() || fields.len() > 16 {
        return Err(syn::Error::new_spanned(name, "#[derive(FromRow)] reads 1 to 16 columns"));
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let reads = fields.iter().enumerate().map(|(i, f)| {
        let ident = f.ident.as_ref().expect("named");
        quote! { #ident: ::taulu::__private::get(row, start + #i)? }
    });
    // One unit type per field, named like it, in a module beside the struct: a compile error
    // then names the field whose column does not fit.
    let names = quote::format_ident!("fields_of_{}", name);
    let idents: Vec<_> = fields.iter().map(|f| f.ident.as_ref().expect("named")).collect();
    let types = fields.iter().map(|f| &f.ty);
    let vis = &input.vis;
    Ok(quote! {
        #[doc(hidden)]
        #[allow(non_snake_case, non_camel_case_types)]
        #vis mod #names {
            #(pub struct #idents;)*
        }

        #[automatically_derived]
        impl #impl_generics ::taulu::FromRow for #name #ty_generics #where_clause {
            fn from_row_at(row: &::taulu::__private::PgRow, start: usize) -> ::core::result::Result<Self, ::taulu::Error> {
                ::core::result::Result::Ok(#name { #(#reads,)* })
            }
        }

        #[automatically_derived]
        impl #impl_generics ::taulu::query::RowStruct for #name #ty_generics #where_clause {
            type Fields = (#(::taulu::query::Field<#names::#idents, #types>,)*);
        }
    })
}
