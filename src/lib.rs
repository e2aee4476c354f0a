//! Tribune: a federated publication node. See ARCHITECTURE.md for the module map and rules.

pub mod admin;
pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod federation;
pub mod i18n;
pub mod ops;
pub mod server;
pub mod service;
pub mod state;
pub mod web;
