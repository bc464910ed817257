//! Portico's core crate: everything the Lambda functions, the local portal and
//! the tests share. See `docs/architecture.md` for the shape.
//!
//! - [`domain`]: entities and rules, no I/O.
//! - [`authz`]: who may do what, decided in one place (Cedar).
//! - [`ops`]: one module per operation: load -> decide -> one transactional write.
//! - [`store`]: the `Table` port, single-table keys, and its two adapters.
//! - [`mail`]: the `Mailer` port, SES and the local outbox.
//! - [`http`]: problem+json, principal extraction, routers, OpenAPI.
//! - [`web`]: the pages people use in a browser, on the same operations.
//! - [`app`]: configuration and the one builder every entry point uses.

pub mod access;
pub mod accounts;
pub mod app;
pub mod audit;
pub mod authz;
pub mod billing;
pub mod clock;
pub mod connections;
pub mod delegations;
pub mod domain;
pub mod error;
pub mod files;
pub mod functions;
pub mod http;
pub mod identity;
pub mod inactivity;
pub mod instances;
pub mod jobs;
pub mod login_keys;
pub mod mail;
pub mod ops;
pub mod outbound;
pub mod partner_portal;
#[cfg(feature = "local")]
pub mod portal;
pub mod secrets;
#[cfg(feature = "local")]
pub mod seed;
pub mod sessions;
pub mod settings;
pub mod signing;
pub mod store;
pub mod telemetry;
pub mod web;
pub mod workspace;
