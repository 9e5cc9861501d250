//! The schema migrations, embedded from `migrations/` at build time.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::store::StoreError;

/// Embeds `migrations/FILE` as one entry of [`MIGRATIONS`].
macro_rules! migration {
    ($version:literal, $description:literal, $file:literal) => {
        (
            $version,
            $description,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $file)),
        )
    };
}

/// Schema versions, in ascending order: (version, description, SQL). A test checks that this
/// list and the `migrations/` directory agree.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    migration!(1, "init", "0001_init.sql"),
    migration!(2, "dry run check runs", "0002_dry_run_check_runs.sql"),
    migration!(3, "body digests", "0003_body_digests.sql"),
    migration!(4, "counters", "0004_counters.sql"),
    migration!(5, "scan leases", "0005_scan_leases.sql"),
    migration!(6, "evaluations", "0006_evaluations.sql"),
    migration!(7, "queued evaluate index", "0007_queued_evaluate_index.sql"),
    migration!(8, "ai usage", "0008_ai_usage.sql"),
    migration!(9, "pushed reports", "0009_pushed_reports.sql"),
];

/// The embedded migrations up to a version, as a sqlx migration source.
#[derive(Debug)]
struct Embedded {
    up_to: i64,
}

impl MigrationSource<'static> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, sqlx::error::BoxDynError>> + Send>>
    {
        let migrations = MIGRATIONS
            .iter()
            .filter(|(version, _, _)| *version <= self.up_to)
            .map(|&(version, description, sql)| {
                let (description, sql) = (Cow::Borrowed(description), Cow::Borrowed(sql));
                Migration::new(version, description, MigrationType::Simple, sql, false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// The migrator for all migrations, or those up to `up_to` (for upgrade tests).
pub async fn migrator(up_to: Option<i64>) -> Result<Migrator, StoreError> {
    let up_to = up_to.unwrap_or(i64::MAX);
    Ok(Migrator::new(Embedded { up_to }).await?)
}
