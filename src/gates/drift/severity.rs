//! Default severity of a drifted resource, from its type (design.md §2.3): critical for data
//! stores, keys and secrets; high for network, IAM and compute clusters; otherwise medium when
//! the drift deletes the object and low for anything else.
//!
//! The type is split into `_`-separated words after the provider prefix (`aws_db_instance` ->
//! `db`, `instance`) and the words are looked up in the lists below, critical first. Whole words
//! keep `aws_keyspaces_table` from matching `key` and `aws_securityhub_account` from matching
//! `security`. A few providers are wholly about identity and count as IAM.

use crate::finding::Severity;

/// Words naming data stores, keys and secrets: `aws_db_instance`, `aws_rds_cluster`,
/// `aws_dynamodb_table`, `aws_s3_bucket`, `aws_kms_key`, `aws_secretsmanager_secret`,
/// `aws_iam_access_key`, `azurerm_key_vault`, `azurerm_storage_account`,
/// `google_sql_database_instance`, `google_storage_bucket`, `google_kms_crypto_key`, ...
const CRITICAL_WORDS: &[&str] = &[
    // Databases and caches.
    "db",
    "rds",
    "dynamodb",
    "database",
    "sql",
    "mssql",
    "mysql",
    "postgresql",
    "mariadb",
    "cosmosdb",
    "redshift",
    "elasticache",
    "redis",
    "memcached",
    "docdb",
    "neptune",
    "spanner",
    "bigtable",
    "bigquery",
    "opensearch",
    "elasticsearch",
    "kinesis",
    // Object and file storage, backups.
    "s3",
    "bucket",
    "storage",
    "efs",
    "fsx",
    "glacier",
    "backup",
    "snapshot",
    // Keys and secrets.
    "kms",
    "key",
    "keyring",
    "secret",
    "secretsmanager",
    "vault",
    "password",
    "certificate",
    "ssm",
];

/// Words naming network, IAM and compute-cluster resources: `aws_security_group`, `aws_vpc`,
/// `aws_subnet`, `aws_route_table`, `aws_network_acl`, `aws_iam_role`, `aws_eks_cluster`,
/// `aws_ecs_cluster`, `azurerm_kubernetes_cluster`, `google_container_cluster`,
/// `google_compute_firewall`, `azurerm_role_assignment`, ...
const HIGH_WORDS: &[&str] = &[
    // Network.
    "security",
    "vpc",
    "subnet",
    "subnetwork",
    "route",
    "route53",
    "acl",
    "network",
    "firewall",
    "nat",
    "gateway",
    "vpn",
    "peering",
    "endpoint",
    "eip",
    "lb",
    "alb",
    "elb",
    "dns",
    "cdn",
    "cloudfront",
    "waf",
    "wafv2",
    // IAM.
    "iam",
    "role",
    "policy",
    "permission",
    "permissions",
    "identity",
    "oidc",
    "saml",
    // Compute clusters.
    "cluster",
    "eks",
    "ecs",
    "aks",
    "gke",
    "kubernetes",
    "container",
];

/// Providers whose every resource is about identity and access.
const HIGH_PROVIDERS: &[&str] = &["azuread", "okta", "auth0"];

/// The severity a drifted resource of `resource_type` gets unless a rule overrides it.
pub fn default_severity(resource_type: &str, actions: &[String]) -> Severity {
    let mut words = resource_type.split('_');
    let provider = words.next().unwrap_or_default();
    let words: Vec<&str> = words.collect();
    // A type without a provider prefix (`db_instance`) still has its one word checked.
    let words = if words.is_empty() {
        vec![provider]
    } else {
        words
    };
    if words.iter().any(|w| CRITICAL_WORDS.contains(w)) {
        Severity::Critical
    } else if HIGH_PROVIDERS.contains(&provider) || words.iter().any(|w| HIGH_WORDS.contains(w)) {
        Severity::High
    } else if actions.iter().any(|a| a == "delete") {
        Severity::Medium
    } else {
        Severity::Low
    }
}
