//! Schema -> tokens: table and column markers, row and insert structs, enums, and the runtime
//! description. Naming and type mapping decisions live here; parsing and replay do not.
//! Generated code uses fully qualified paths (`::taulu::...`) and never panics.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use crate::{
    ddl::{Identity, SqlError},
    model::{ColType, Column, Schema, Table, TypeKind, builtin},
};

const DEFAULT_SCHEMA: &str = "public";

/// The Rust keywords that are valid as raw identifiers (`r#type`).
const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "else", "enum", "extern", "false", "fn", "for", "if", "impl", "in", "let",
    "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static", "struct", "trait", "true", "type",
    "unsafe", "use", "where", "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];
/// Keywords that cannot be raw identifiers: these get a trailing `_`.
const NOT_RAW: &[&str] = &["self", "Self", "super", "crate", "_"];

/// An identifier for a SQL name: the name itself when it is a valid Rust identifier (a raw one
/// for keywords), else the name with every other character replaced by `_`.
pub fn ident(name: &str) -> Ident {
    let mut s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    if NOT_RAW.contains(&s.as_str()) {
        s.push('_');
    }
    if KEYWORDS.contains(&s.as_str()) {
        Ident::new_raw(&s, Span::call_site())
    } else {
        Ident::new(&s, Span::call_site())
    }
}

/// `login_attempts` -> `LoginAttempts`.
pub fn camel(name: &str) -> Ident {
    let mut s = String::new();
    for part in name.split(|c: char| !c.is_ascii_alphanumeric()).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            s.push(first.to_ascii_uppercase());
            s.extend(chars);
        }
    }
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, 'T');
    }
    if NOT_RAW.contains(&s.as_str()) {
        s.push('_');
    }
    Ident::new(&s, Span::call_site())
}

/// `Invoice` -> `invoice`, `LoginAttempts` -> `loginattempts`: module names are lower case so
/// they never collide with the UpperCamelCase table marker of the same table.
pub fn snake(name: &str) -> Ident {
    ident(&name.to_ascii_lowercase())
}

/// The user's own attributes for generated types (`schema!(.., rows = { .. }, enums = { .. })`).
#[derive(Default)]
pub struct UserAttrs {
    /// On every table's and view's `Row` and every `Insert`.
    pub rows: TokenStream,
    /// On every enum.
    pub enums: TokenStream,
}

struct Ctx<'a> {
    schema: &'a Schema,
    attrs: &'a UserAttrs,
    errors: Vec<SqlError>,
    /// The modules of `public`'s tables, which sit beside the modules of the other schemas (made
    /// when first needed).
    public_modules: std::cell::OnceCell<std::collections::BTreeSet<String>>,
}

impl Ctx<'_> {
    /// The module of a schema other than `public`: its name, or `<name>_schema` when a table of
    /// `public` has that module name already (schema `audit` and table `public.audit`).
    fn schema_module(&self, schema: &str) -> Ident {
        let m = snake(schema);
        let public = self.public_modules.get_or_init(|| {
            let tables = self.schema.tables.iter().filter(|t| t.schema == DEFAULT_SCHEMA);
            tables.map(|t| snake(&t.name).to_string()).collect()
        });
        if public.contains(&m.to_string()) { ident(&format!("{m}_schema")) } else { m }
    }
}

/// The Rust type of a column type for code outside the schema module, which sits at `root`
/// (a path ending in `::`): `(type, is an enum or contains one)`.
pub fn rust_type(schema: &Schema, ty: &ColType, root: &TokenStream) -> Result<(TokenStream, bool), String> {
    let none = UserAttrs::default();
    let cx = Ctx { schema, attrs: &none, errors: Vec::new(), public_modules: Default::default() };
    let m = cx.map_in(ty, root)?;
    let enum_ = |t: &ColType| matches!(t, ColType::User(i) if matches!(schema.types[*i].kind, TypeKind::Enum { .. }));
    let uses_enum = enum_(ty) || matches!(ty, ColType::Array(inner) if enum_(inner));
    Ok((m.rust, uses_enum))
}

/// Emits the whole schema. `files` are the absolute paths of the migrations, made build inputs.
pub fn emit(schema: &Schema, files: &[String], attrs: &UserAttrs) -> (TokenStream, Vec<SqlError>) {
    let mut cx = Ctx { schema, attrs, errors: Vec::new(), public_modules: Default::default() };
    let mut by_schema: BTreeMap<&str, Vec<TokenStream>> = BTreeMap::new();
    let mut names: BTreeMap<(String, String), String> = BTreeMap::new(); // (schema, rust name) -> what

    for (_, t) in schema.live_types() {
        if let TypeKind::Enum { labels } = &t.kind {
            let rust = camel(&t.name).to_string();
            if let Some(other) = names.insert((t.schema.clone(), rust.clone()), format!("enum {}", t.name)) {
                cx.errors.push(SqlError {
                    origin: t.origin.clone(),
                    message: format!("enum {} and {other} both become the Rust name `{rust}`; rename one", t.name),
                });
                continue;
            }
            by_schema.entry(&t.schema).or_default().push(emit_enum(
                &t.schema,
                &t.name,
                labels,
                &t.origin.to_string(),
                &attrs.enums,
            ));
        }
    }
    for table in &schema.tables {
        let rust = camel(&table.name).to_string();
        let module = snake(&table.name).to_string();
        let clash = names
            .insert((table.schema.clone(), rust.clone()), format!("table {}", table.name))
            .or_else(|| names.insert((table.schema.clone(), format!("mod {module}")), format!("table {}", table.name)));
        if let Some(other) = clash {
            cx.errors.push(SqlError {
                origin: table.origin.clone(),
                message: format!(
                    "table {} and {other} both become the Rust name `{rust}`/`{module}`; rename one",
                    table.name
                ),
            });
            continue;
        }
        let tokens = cx.emit_table(table);
        by_schema.entry(&table.schema).or_default().push(tokens);
    }

    let mut out = TokenStream::new();
    for file in files {
        out.extend(quote! { const _: &str = ::core::include_str!(#file); });
    }
    for (schema_name, items) in by_schema {
        if schema_name == DEFAULT_SCHEMA {
            out.extend(items);
        } else {
            let m = cx.schema_module(schema_name);
            let doc = format!("Tables and types of the `{schema_name}` schema.");
            out.extend(quote! {
                #[doc = #doc]
                #[allow(non_snake_case)]
                pub mod #m { #(#items)* }
            });
        }
    }
    out.extend(cx.emit_description());
    (out, cx.errors)
}

fn emit_enum(schema: &str, name: &str, labels: &[String], origin: &str, user_attrs: &TokenStream) -> TokenStream {
    let ty = camel(name);
    let doc = format!("The PostgreSQL enum `{}` (created at {origin}).", qualified(schema, name));
    let mut seen = BTreeSet::new();
    let variants: Vec<Ident> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut v = camel(l).to_string();
            if !seen.insert(v.clone()) {
                v = format!("{v}{i}");
                seen.insert(v.clone());
            }
            Ident::new(&v, Span::call_site())
        })
        .collect();
    let variant_docs = labels.iter().map(|l| format!("`'{l}'`"));
    let quoted = sql_qualified(schema, name);
    quote! {
        #[doc = #doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #user_attrs
        pub enum #ty { #( #[doc = #variant_docs] #variants, )* }
        ::taulu::__taulu_enum_serde!(#ty);

        #[automatically_derived]
        impl ::taulu::SqlEnum for #ty {
            const SCHEMA: &'static str = #schema;
            const NAME: &'static str = #name;
            const LABELS: &'static [&'static str] = &[#(#labels),*];
            const ALL: &'static [Self] = &[#(#ty::#variants),*];
            const QUOTED: &'static str = #quoted;
            fn as_str(self) -> &'static str {
                match self { #( #ty::#variants => #labels, )* }
            }
            fn sql_type() -> ::taulu::__private::Type {
                static TYPE: ::std::sync::OnceLock<::taulu::__private::Type> = ::std::sync::OnceLock::new();
                TYPE.get_or_init(::taulu::__private::enum_type::<Self>).clone()
            }
        }

        #[automatically_derived]
        impl ::taulu::query::AsExpr<#ty> for #ty {
            type Expr = ::taulu::query::Bound<#ty>;
            fn into_expr(self) -> Self::Expr {
                ::taulu::query::Bound::new(self)
            }
        }

        #[automatically_derived]
        impl ::core::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(<Self as ::taulu::SqlEnum>::as_str(*self))
            }
        }

        #[automatically_derived]
        impl ::core::str::FromStr for #ty {
            type Err = ::std::string::String;
            fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
                <Self as ::taulu::SqlEnum>::from_label(s)
                    .ok_or_else(|| ::std::format!("{:?} is not a label of enum {}", s, #name))
            }
        }

        #[automatically_derived]
        impl ::taulu::__private::ToSql for #ty {
            fn to_sql(
                &self,
                _ty: &::taulu::__private::Type,
                out: &mut ::taulu::__private::BytesMut,
            ) -> ::core::result::Result<::taulu::__private::IsNull, ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>> {
                ::taulu::__private::enum_to_sql(<Self as ::taulu::SqlEnum>::as_str(*self), out)
            }
            fn accepts(ty: &::taulu::__private::Type) -> bool {
                ::taulu::__private::enum_accepts::<Self>(ty)
            }
            ::taulu::__private::to_sql_checked!();
        }

        #[automatically_derived]
        impl<'a> ::taulu::__private::FromSql<'a> for #ty {
            fn from_sql(
                _ty: &::taulu::__private::Type,
                raw: &'a [u8],
            ) -> ::core::result::Result<Self, ::std::boxed::Box<dyn ::std::error::Error + Sync + Send>> {
                ::taulu::__private::enum_from_sql::<Self>(raw)
            }
            fn accepts(ty: &::taulu::__private::Type) -> bool {
                ::taulu::__private::enum_accepts::<Self>(ty)
            }
        }
    }
}

/// A quoted SQL identifier (`"name"`, embedded quotes doubled), as the builder's renderer writes
/// one.
fn sql_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A type's or table's name as SQL text writes it: quoted, schema-qualified outside `public`.
fn sql_qualified(schema: &str, name: &str) -> String {
    match schema {
        DEFAULT_SCHEMA => sql_ident(name),
        schema => format!("{}.{}", sql_ident(schema), sql_ident(name)),
    }
}

fn qualified(schema: &str, name: &str) -> String {
    if schema == DEFAULT_SCHEMA { name.to_owned() } else { format!("{schema}.{name}") }
}

/// A column's mapped types: (Rust type of a non-NULL value, type name for docs, cast for domains).
struct Mapped {
    rust: TokenStream,
    rust_name: String,
    cast: Option<String>,
    /// `taulu::query::Bind` covers the type (so its parameters carry a PostgreSQL type): built-in
    /// scalars, enums, and arrays of built-in scalars other than `bytea`.
    bindable: bool,
}

impl Ctx<'_> {
    /// Maps a column type to Rust, from inside a table module at `depth` below the macro's module.
    fn map(&self, ty: &ColType, depth: usize) -> Result<Mapped, String> {
        self.map_in(ty, &std::iter::repeat_n(quote!(super::), depth).collect::<TokenStream>())
    }

    /// Maps a column type to Rust, with `root` the path (ending in `::`) of the macro's module.
    fn map_in(&self, ty: &ColType, root: &TokenStream) -> Result<Mapped, String> {
        let raw = || Mapped { rust: quote!(::taulu::Raw), rust_name: "Raw".into(), cast: None, bindable: false };
        match ty {
            ColType::Array(inner) => {
                let m = self.map_in(inner, root)?;
                let r = m.rust;
                let scalar = matches!(&**inner, ColType::Builtin { .. });
                Ok(Mapped {
                    rust: quote!(::std::vec::Vec<#r>),
                    bindable: m.bindable && scalar && m.rust_name != "Vec<u8>",
                    rust_name: format!("Vec<{}>", m.rust_name),
                    cast: m.cast.map(|c| format!("{c}[]")),
                })
            }
            ColType::User(id) => {
                let t = &self.schema.types[*id];
                match &t.kind {
                    TypeKind::Enum { .. } => {
                        let e = camel(&t.name);
                        let path = if t.schema == DEFAULT_SCHEMA {
                            quote!(#root #e)
                        } else {
                            let m = self.schema_module(&t.schema);
                            quote!(#root #m::#e)
                        };
                        Ok(Mapped { rust: path, rust_name: e.to_string(), cast: None, bindable: true })
                    }
                    TypeKind::Domain { base, .. } => {
                        let m = self.map_in(base, root)?;
                        Ok(Mapped { cast: Some(self.schema.display_type(base)), ..m })
                    }
                    // Ranges, composites and base types of the migrations: raw values.
                    TypeKind::Other(_) => Ok(raw()),
                }
            }
            ColType::Builtin { name, .. } => {
                // Every type a schema resolves is known; `sql!` meets the whole catalog, and reads
                // the rest as raw values.
                let Some(b) = builtin(name) else { return Ok(raw()) };
                // A type without a Rust mapping is read and written as its raw binary value: one
                // unusual column must not reject a whole schema.
                let Some(rust) = b.rust else { return Ok(raw()) };
                let tokens = match rust {
                    "i8" | "i16" | "i32" | "i64" | "u32" | "f32" | "f64" | "bool" => {
                        let i = format_ident!("{}", rust);
                        quote!(::core::primitive::#i)
                    }
                    "String" => quote!(::std::string::String),
                    other => {
                        let i = format_ident!("{}", other);
                        quote!(::taulu::__private::types::#i)
                    }
                };
                let rust_name = match rust {
                    "DateTimeUtc" => "DateTime<Utc>".to_owned(),
                    "Bytes" => "Vec<u8>".to_owned(),
                    "JsonValue" => "serde_json::Value".to_owned(),
                    other => other.to_owned(),
                };
                Ok(Mapped { rust: tokens, rust_name, cast: None, bindable: true })
            }
        }
    }

    fn emit_table(&mut self, table: &Table) -> TokenStream {
        let marker = camel(&table.name);
        let module = snake(&table.name);
        let depth = if table.schema == DEFAULT_SCHEMA { 1 } else { 2 };
        let schema_name = &table.schema;
        let table_name = &table.name;
        let table_quoted = sql_qualified(&table.schema, table_name);
        let q = qualified(&table.schema, &table.name);

        let mut markers = Vec::new();
        let mut fields = Vec::new();
        let mut column_names = Vec::new();
        let mut column_fields = Vec::new();
        let mut required = Vec::new();
        let mut optional = Vec::new();
        let mut seen = BTreeSet::new();
        for c in &table.columns {
            let mapped = match self.map(&c.ty, depth) {
                Ok(m) => m,
                Err(e) => {
                    self.errors
                        .push(SqlError { origin: c.origin.clone(), message: format!("column {q}.{}: {e}", c.name) });
                    continue;
                }
            };
            let field = ident(&c.name);
            if !seen.insert(field.to_string()) || ["Row", "Insert"].contains(&field.to_string().as_str()) {
                self.errors.push(SqlError {
                    origin: c.origin.clone(),
                    message: format!(
                        "column {q}.{} clashes with another generated Rust name `{field}`; rename it",
                        c.name
                    ),
                });
                continue;
            }
            let (not_null, has_default) = (self.schema.not_null(c), self.schema.has_default(c));
            let rust = &mapped.rust;
            // Row and Insert live one module deeper (where the column markers are not in scope,
            // so `new(email: String)` binds a parameter instead of matching the `email` marker).
            let inner = self.map(&c.ty, depth + 1).map(|m| m.rust).unwrap_or_else(|_| rust.clone());
            let col_name = &c.name;
            // How the SQL text writes a reference to it, quoted once here instead of per query.
            let quoted = format!("{}.{}", sql_ident(table_name), sql_ident(col_name));
            let sql_type = self.schema.display_type(&c.ty);
            let null = if not_null { quote!(::taulu::NotNull) } else { quote!(::taulu::Nullable) };
            // What an UPDATE may set: not a view's column, not one PostgreSQL computes.
            let assign = if table.view.is_none() && !c.generated && c.identity != Some(Identity::Always) {
                quote!(::taulu::query::Settable)
            } else {
                quote!(::taulu::query::Computed)
            };
            let cast = match &mapped.cast {
                Some(c) => quote!(::core::option::Option::Some(#c)),
                None => quote!(::core::option::Option::None),
            };
            let doc = format!(
                "Column `{q}.{col_name}`: `{sql_type}{}`{}{} (Rust `{}`), added at {}.",
                if not_null { " NOT NULL" } else { "" },
                if has_default { ", has a default" } else { "" },
                match (c.identity, c.generated) {
                    (Some(Identity::Always), _) => ", identity ALWAYS",
                    (Some(Identity::ByDefault), _) => ", identity BY DEFAULT",
                    (None, true) => ", generated",
                    _ => "",
                },
                if not_null { mapped.rust_name.clone() } else { format!("Option<{}>", mapped.rust_name) },
                c.origin
            );
            // Escaped once, used twice (the marker and the `Row` field): escaping long literals is
            // a visible share of an unoptimised expansion.
            let doc = proc_macro2::Literal::string(&doc);
            markers.push(quote! {
                #[doc = #doc]
                #[derive(Debug, Clone, Copy, Default)]
                pub struct #field;
                ::taulu::__taulu_column!(#field, super::#marker, #rust, #null, #assign, #col_name, #sql_type, #cast, #quoted);
            });
            let field_ty = if not_null { quote!(#inner) } else { quote!(::core::option::Option<#inner>) };
            let i = fields.len();
            fields.push(quote! { #doc, #field: #field_ty = #i; });
            column_names.push(col_name.clone());
            column_fields.push(field.clone());
            let insert = |field| InsertColumn {
                field,
                ty: inner,
                name: col_name.clone(),
                cast: mapped.cast.clone(),
                bindable: mapped.bindable,
                converts: converts(&mapped),
            };
            match insert_kind(c, not_null, has_default) {
                InsertKind::Required => required.push(insert(field)),
                InsertKind::Optional => optional.push(insert(field)),
                InsertKind::Absent => {}
            }
        }

        // `LCons<(column, Here), LCons<.., LNil>>`: the columns `.all()` selects, for derived tables.
        let column_list = column_fields.iter().rev().fold(
            quote!(::taulu::__private::LNil),
            |rest, field| quote!(::taulu::__private::LCons<(#module::#field, ::taulu::query::Here), #rest>),
        );
        let marker_doc = format!("Table `{q}` (created at {}).", table.origin);
        let user_attrs = &self.attrs.rows;
        let row_doc =
            format!("A row of `{q}` with every column, in table order (what a select of all columns returns).");
        let insert_doc = format!(
            "A row to insert into `{q}`: required columns are fields, optional ones (nullable, defaulted, identity BY \
             DEFAULT) are `Option`s left out of the INSERT when `None`; identity ALWAYS and generated columns cannot \
             be given. Build it with `Insert::new(required..)` and the `with_*` setters."
        );
        let info = self.table_info_ident(table);

        let req_fields = required.iter().map(|InsertColumn { field: f, ty: t, name, .. }| {
            let doc = format!("`{name}` (required).");
            quote!(#[doc = #doc] pub #f: #t)
        });
        let opt_fields = optional.iter().map(|InsertColumn { field: f, ty: t, name, .. }| {
            let doc = format!("`{name}`; `None` leaves it out of the INSERT (its default or NULL applies).");
            quote!(#[doc = #doc] pub #f: ::core::option::Option<#t>)
        });
        // Arguments are named after their columns. Text and bytea ones take anything that
        // converts (`&str`, `&[u8]`) through `ValueFor<column>`, so a wrong value is reported by
        // column name; the others take the column's type itself, so `"::1".parse()?` and
        // `Default::default()` still infer.
        let new_args = required.iter().map(|c| {
            let (f, t) = (&c.field, &c.ty);
            if c.converts { quote!(#f: impl ::taulu::query::ValueFor<super::#f, #t>) } else { quote!(#f: #t) }
        });
        let new_req = required.iter().map(|c| {
            let (f, t) = (&c.field, &c.ty);
            if c.converts {
                quote!(#f: <_ as ::taulu::query::ValueFor<super::#f, #t>>::into_value(#f))
            } else {
                quote!(#f)
            }
        });
        let new_opt = optional.iter().map(|c| {
            let f = &c.field;
            quote!(#f: ::core::option::Option::None)
        });
        let setters = optional.iter().map(|InsertColumn { field: f, ty: t, name, converts, .. }| {
            let setter = format_ident!("with_{}", f.to_string().trim_start_matches("r#"));
            let doc = format!("Sets `{name}`.");
            if *converts {
                quote!(::taulu::__taulu_insert!(setter_into #doc, #setter, #f, super::#f, #t);)
            } else {
                quote!(::taulu::__taulu_insert!(setter #doc, #setter, #f, #t);)
            }
        });
        let cast_tokens = |c: &Option<String>| match c {
            Some(c) => quote!(::core::option::Option::Some(#c)),
            None => quote!(::core::option::Option::None),
        };
        // Typed parameters where `Bind` covers the type (see `Mapped::bindable`).
        let how = |bindable: bool| if bindable { quote!(bind) } else { quote!(new) };
        let push_req = required.iter().map(|InsertColumn { field: f, ty: t, name, cast, bindable, .. }| {
            let (cast, how) = (cast_tokens(cast), how(*bindable));
            quote! { ::taulu::__taulu_insert!(push #how v, self.#f, #name, #cast, #t); }
        });
        let push_opt = optional.iter().map(|InsertColumn { field: f, ty: t, name, cast, bindable, .. }| {
            let (cast, how) = (cast_tokens(cast), how(*bindable));
            quote! { if let ::core::option::Option::Some(x) = self.#f { ::taulu::__taulu_insert!(push #how v, x, #name, #cast, #t); } }
        });
        // The table marker's impl sits one level above the column module.
        let root = std::iter::repeat_n(quote!(super::), depth - 1).collect::<TokenStream>();

        let insert_items = quote! {
                ::taulu::__taulu_serde! {
                    #[doc = #insert_doc]
                    #[derive(Debug, Clone, PartialEq)]
                    #user_attrs
                    pub struct Insert { #(#req_fields,)* #(#opt_fields,)* }
                }

                impl Insert {
                    /// An insert with the required columns; optional ones start as `None`.
                    #[allow(clippy::too_many_arguments)]
                    pub fn new(#(#new_args),*) -> Self {
                        Insert { #(#new_req,)* #(#new_opt,)* }
                    }
                    #(#setters)*
                }

                #[automatically_derived]
                impl ::taulu::Insertable for Insert {
                    type Table = super::super::#marker;
                    fn into_values(self) -> ::std::vec::Vec<::taulu::InsertValue> {
                        let mut v = ::std::vec::Vec::new();
                        #(#push_req)*
                        #(#push_opt)*
                        v
                    }
                }
        };
        let (writable, insert_items, rows_use) = if table.view.is_some() {
            (quote!(), quote!(), quote!(Row))
        } else {
            let w = quote! {
                #[automatically_derived]
                impl ::taulu::Writable for #marker {
                    type Insert = #module::Insert;
                }
            };
            (w, insert_items, quote!({Insert, Row}))
        };
        let marker_doc = if table.view.is_some() {
            format!("View `{q}` (created at {}): read-only; no insert, update or delete.", table.origin)
        } else {
            marker_doc
        };

        quote! {
            #[doc = #marker_doc]
            #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
            pub struct #marker;

            #[automatically_derived]
            impl ::taulu::__private::TableColumns for #marker {
                type Items = #column_list;
            }

            #[automatically_derived]
            impl ::taulu::Table for #marker {
                const SCHEMA: &'static str = #schema_name;
                const NAME: &'static str = #table_name;
                const QUOTED: ::core::option::Option<&'static str> = ::core::option::Option::Some(#table_quoted);
                const COLUMNS: &'static [&'static str] = &[#(#column_names),*];
                const INFO: &'static ::taulu::meta::TableInfo = &#root #info;
                type Row = #module::Row;
                type Name = Self;
            }

            #writable

            #[doc = #marker_doc]
            #[allow(non_camel_case_types, non_snake_case, clippy::all)]
            pub mod #module {
                #(#markers)*

                pub use self::__rows::#rows_use;

                #[allow(non_camel_case_types, non_snake_case, clippy::all)]
                mod __rows {
                ::taulu::__taulu_row!([#user_attrs] #row_doc; #(#fields)*);

                #insert_items
                }
            }
        }
    }

    fn table_info_ident(&self, table: &Table) -> Ident {
        let i = self.schema.tables.iter().position(|t| std::ptr::eq(t, table)).unwrap_or(0);
        format_ident!("__TAULU_TABLE_{}", i)
    }

    /// `SCHEMA: taulu::meta::Schema` plus one `TableInfo` static per table.
    fn emit_description(&self) -> TokenStream {
        let mut statics = Vec::new();
        let mut refs = Vec::new();
        for table in &self.schema.tables {
            let info = self.table_info_ident(table);
            let (s, n, origin) = (&table.schema, &table.name, table.origin.to_string());
            let cols = table.columns.iter().map(|c| self.column_info(c));
            let view = table.view.is_some();
            statics.push(quote! {
                #[doc(hidden)]
                pub static #info: ::taulu::meta::TableInfo = ::taulu::meta::TableInfo {
                    schema: #s, name: #n, origin: #origin, columns: &[#(#cols),*], view: #view,
                };
            });
            refs.push(quote!(#info));
        }
        let mut enums = Vec::new();
        let mut domains = Vec::new();
        for (_, t) in self.schema.live_types() {
            let (s, n) = (&t.schema, &t.name);
            match &t.kind {
                TypeKind::Enum { labels } => {
                    enums.push(quote!(::taulu::meta::EnumInfo { schema: #s, name: #n, labels: &[#(#labels),*] }))
                }
                TypeKind::Domain { base, not_null, .. } => {
                    let b = self.schema.display_type(base);
                    domains.push(
                        quote!(::taulu::meta::DomainInfo { schema: #s, name: #n, base_type: #b, not_null: #not_null }),
                    )
                }
                TypeKind::Other(_) => {}
            }
        }
        let sequences = self.schema.sequences.iter().map(|q| {
            let (s, n) = (&q.schema, &q.name);
            let owned_by = match &q.owner {
                Some((id, column)) => {
                    let t = &self.schema.tables[self.schema.table_by_id(*id).expect("an owner exists")];
                    let table = format!("{}.{}", t.schema, t.name);
                    quote!(::core::option::Option::Some((#table, #column)))
                }
                None => quote!(::core::option::Option::None),
            };
            quote!(::taulu::meta::SequenceInfo { schema: #s, name: #n, owned_by: #owned_by })
        });
        quote! {
            #(#statics)*
            /// The schema as the migrations leave it: tables, columns, enums, domains and sequences.
            pub static SCHEMA: ::taulu::meta::Schema = ::taulu::meta::Schema {
                tables: &[#(#refs),*],
                enums: &[#(#enums),*],
                domains: &[#(#domains),*],
                sequences: &[#(#sequences),*],
            };
        }
    }

    fn column_info(&self, c: &Column) -> TokenStream {
        let name = &c.name;
        let (not_null, has_default) = (self.schema.not_null(c), self.schema.has_default(c));
        let sql_type = self.schema.display_type(&c.ty);
        let rust_type = self.map(&c.ty, 0).map(|m| m.rust_name).unwrap_or_default();
        let nullable = !not_null;
        let has_default = has_default && !c.generated && c.identity.is_none();
        let identity = match c.identity {
            Some(Identity::Always) => quote!(Always),
            Some(Identity::ByDefault) => quote!(ByDefault),
            None => quote!(None),
        };
        let generated = c.generated;
        let origin = c.origin.to_string();
        quote!(
            ::taulu::__taulu_column_info!(#name, #sql_type, #rust_type, #nullable, #has_default, #identity, #generated, #origin)
        )
    }
}

/// A column of a generated `Insert`.
struct InsertColumn {
    field: Ident,
    ty: TokenStream,
    name: String,
    cast: Option<String>,
    bindable: bool,
    /// Text and bytea take anything that converts (`&str`, `&[u8]`) through `ValueFor<column>`,
    /// so a wrong value is reported by column name; the others take the column's type itself, so
    /// `"::1".parse()?` and `Default::default()` still infer.
    converts: bool,
}

fn converts(m: &Mapped) -> bool {
    m.rust_name == "String" || m.rust_name == "Vec<u8>"
}

enum InsertKind {
    Required,
    Optional,
    Absent,
}

fn insert_kind(c: &Column, not_null: bool, has_default: bool) -> InsertKind {
    match (c.identity, c.generated) {
        (Some(Identity::Always), _) | (_, true) => InsertKind::Absent,
        (Some(Identity::ByDefault), _) => InsertKind::Optional,
        _ if !not_null || has_default => InsertKind::Optional,
        _ => InsertKind::Required,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_rust_rules() {
        assert_eq!(ident("email").to_string(), "email");
        assert_eq!(ident("type").to_string(), "r#type");
        assert_eq!(ident("self").to_string(), "self_");
        assert_eq!(ident("Full Name").to_string(), "Full_Name");
        assert_eq!(ident("1st").to_string(), "_1st");
        assert_eq!(camel("login_attempts").to_string(), "LoginAttempts");
        assert_eq!(camel("in-progress").to_string(), "InProgress");
        assert_eq!(camel("Self").to_string(), "Self_");
        assert_eq!(snake("Invoice").to_string(), "invoice");
    }
}
