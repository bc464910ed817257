//! One module per Lambda function, named after the function's crate
//! (`functions/toggle-setting` → [`toggle_setting`]). Each lists, in one
//! place, the routes or the job its function serves and the operations
//! (`crate::ops::*`) they call; the function's `main` calls only its module,
//! so a Lambda links only its own routes. The local portal mounts them all
//! (see [`crate::http::Function`]).

pub mod delegation_sweep;
pub mod deliver_changes;
pub mod grant_partner_role;
pub mod instance_access;
pub mod instances;
pub mod invite;
pub mod login_digest;
pub mod organizations;
pub mod self_register;
pub mod session;
pub mod suspend_inactive;
pub mod toggle_setting;
pub mod verify_connection;
pub mod web;
pub mod workspace;
