//! One integration binary (faster to link than one per file).

mod accounts;
mod activity;
mod authz_decisions;
mod bad_input;
mod browser;
mod budgets;
mod deliveries;
mod events;
mod hardening;
mod iam;
mod identity_contract;
mod inactivity;
mod infra;
mod instance_contract;
mod instances;
mod mail_contract;
mod openapi;
mod organizations;
mod outbound;
mod permissions;
mod sessions;
mod settings;
mod sweep_benchmark;
mod table_contract;
mod web;
