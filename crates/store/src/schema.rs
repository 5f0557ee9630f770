//! Embedded migrations and schema introspection (for the parity tests).

use faultline_config::DatabaseKind;
use sqlx::migrate::Migrator;

use crate::{Result, Store};

pub(crate) static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
/// The SQLite spool's own file (see `queue`).
pub(crate) static SQLITE_SPOOL_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite-spool");
pub(crate) static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// `(version, description)` of every embedded migration for a backend.
pub fn migration_versions(kind: DatabaseKind) -> Vec<(i64, String)> {
    let migrator = match kind {
        DatabaseKind::Sqlite => &SQLITE_MIGRATOR,
        DatabaseKind::Postgres => &POSTGRES_MIGRATOR,
    };
    migrator.iter().map(|m| (m.version, m.description.to_string())).collect()
}

/// One column of the live schema, with its type reduced to a backend-neutral class.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct ColumnInfo {
    /// Table name.
    pub table: String,
    /// Column name.
    pub column: String,
    /// `integer`, `text`, `boolean`, `bytes` or `real`.
    pub class: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
}

fn class_of(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let class = if t.contains("int") {
        "integer"
    } else if t.contains("bool") {
        "boolean"
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text"
    } else if t.contains("blob") || t.contains("bytea") || t == "uuid" {
        "bytes"
    } else if t.contains("real") || t.contains("double") || t.contains("float") || t.contains("numeric") {
        "real"
    } else {
        return format!("other:{t}");
    };
    class.to_string()
}

impl Store {
    /// Tables and columns of the application schema, sorted. Excluded: migration
    /// bookkeeping, SQLite internals, the full-text index `issue_search`, which is
    /// backend-specific by nature (FTS5 virtual table vs. tsvector table), and the spool
    /// receipts `ingest_digested`, which only SQLite needs (its spool is a file of its
    /// own, whose `ingest_queue` has the same columns as the main one).
    pub async fn columns(&self) -> Result<Vec<ColumnInfo>> {
        let mut out: Vec<ColumnInfo> = match self.kind() {
            DatabaseKind::Postgres => {
                let rows: Vec<(String, String, String, String)> = read!(self, |pool| sqlx::query_as(
                    "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text
                     FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name NOT LIKE '\\_sqlx%'
                       AND table_name NOT LIKE 'issue\\_search%'"
                )
                .fetch_all(pool)
                .await)?;
                rows.into_iter()
                    .map(|(table, column, ty, nullable)| ColumnInfo {
                        table,
                        column,
                        class: class_of(&ty),
                        nullable: nullable == "YES",
                    })
                    .collect()
            }
            DatabaseKind::Sqlite => {
                let rows: Vec<(String, String, String, i64, i64)> = read!(self, |pool| sqlx::query_as(
                    "SELECT m.name, p.name, p.type, p.\"notnull\", p.pk
                     FROM sqlite_master m JOIN pragma_table_info(m.name) p
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
                       AND m.name NOT LIKE '\\_sqlx%' ESCAPE '\\' AND m.name NOT LIKE 'issue\\_search%' ESCAPE '\\'
                       AND m.name <> 'ingest_digested'"
                )
                .fetch_all(pool)
                .await)?;
                rows.into_iter()
                    .map(|(table, column, ty, notnull, pk)| ColumnInfo {
                        table,
                        column,
                        class: class_of(&ty),
                        // SQLite reports `INTEGER PRIMARY KEY` as nullable; it is not.
                        nullable: notnull == 0 && pk == 0,
                    })
                    .collect()
            }
        };
        out.sort();
        Ok(out)
    }
}
