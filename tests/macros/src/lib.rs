//! `#[blackbox]` registers a black-box test where it is defined, so the runner
//! (`tests/api/main.rs`) cannot forget it: there is no list of tests to keep by hand.
//!
//! ```text
//! use safemarket_blackbox::blackbox;
//!
//! #[blackbox]
//! fn cancel_frees_the_place_at_once() { /* panics are failures */ }
//!
//! /// Runs after every test not marked `last` (it fills the shared server).
//! #[blackbox(last)]
//! fn api_keeps_the_contract() { /* ... */ }
//! ```
//!
//! The function is kept as written and registered with `inventory` (through the re-export
//! `safemarket_blackbox::registry::inventory`) as `module_path!()::name`, e.g.
//! `api::bookings::cancel_frees_the_place_at_once`.

use proc_macro::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{parse_macro_input, Error, ItemFn, ReturnType};

/// Registers a `fn()` as a black-box test; `#[blackbox(last)]` runs it after all the others.
#[proc_macro_attribute]
pub fn blackbox(attr: TokenStream, item: TokenStream) -> TokenStream {
    let attr = proc_macro2::TokenStream::from(attr);
    let last = match attr.to_string().as_str() {
        "" => false,
        "last" => true,
        _ => {
            return Error::new(attr.span(), "expected `#[blackbox]` or `#[blackbox(last)]`")
                .to_compile_error()
                .into()
        }
    };
    let test = parse_macro_input!(item as ItemFn);
    if let Err(e) = check_signature(&test) {
        return e.to_compile_error().into();
    }
    let name = &test.sig.ident;
    quote! {
        #test

        ::safemarket_blackbox::registry::inventory::submit! {
            ::safemarket_blackbox::registry::Blackbox {
                name: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                run: #name,
                last: #last,
            }
        }
    }
    .into()
}

/// A test is a plain `fn name()`: no arguments, no generics, not async, returns nothing
/// (panics are its failures).
fn check_signature(test: &ItemFn) -> Result<(), Error> {
    let sig = &test.sig;
    if let Some(token) = &sig.asyncness {
        return Err(Error::new(token.span(), "a black-box test is not async"));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        return Err(Error::new(
            sig.generics.span(),
            "a black-box test takes no generics",
        ));
    }
    if !sig.inputs.is_empty() {
        return Err(Error::new(
            sig.inputs.span(),
            "a black-box test takes no arguments",
        ));
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        return Err(Error::new(
            ty.span(),
            "a black-box test returns nothing: a panic is its failure",
        ));
    }
    Ok(())
}
