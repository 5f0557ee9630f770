//! Black-box HTTP tests against the real server, on both backends.

mod alerts;
mod api;
mod authz;
mod crons;
mod digest;
mod e2e;
mod health;
mod ingest;
mod issues;
mod sdk;
mod status_pages;
mod ui;
mod ui_monitors;
mod ui_settings;
mod uptime;
