//! Shared helpers for integration tests: `mod support;` in a test file, then
//! `use support::{GitHttpServer, TestRepo, ...}`.
//!
//! - [`git_http`]: a smart-HTTP git server on loopback (`git http-backend` as CGI) with HTTP Basic
//!   token auth and a request log;
//! - [`test_repo`]: real repositories served by it, built with the `git` CLI;
//! - [`fake_github`]: a fake GitHub REST API that records every call.

// Each test binary uses a different part of the helpers.
#![allow(dead_code, unused_imports)]

pub mod fake_azure;
pub mod fake_github;
pub mod git_http;
pub mod http;
pub mod test_repo;
pub mod world;

pub use git_http::{AuthOutcome, DEFAULT_TOKEN, DEFAULT_USER, GitHttpServer, RecordedRequest};
pub use test_repo::{TestRepo, git};
