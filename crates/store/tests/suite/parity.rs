//! The two backends' schemas must not drift apart.

use faultline_store::testing::TestDb;
use faultline_store::{migration_versions, DatabaseKind};

#[test]
fn migration_sets_have_the_same_versions_and_names() {
    let sqlite = migration_versions(DatabaseKind::Sqlite);
    let postgres = migration_versions(DatabaseKind::Postgres);
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "every migration needs a counterpart with the same version and name");
}

/// The SQLite schema, reviewed in the snapshot; PostgreSQL must match it column for
/// column (name, type class, nullability).
#[tokio::test]
async fn both_backends_have_the_same_tables_and_columns() {
    let sqlite = TestDb::sqlite().await;
    let columns = sqlite.store.columns().await.unwrap();
    let listing: Vec<String> = columns
        .iter()
        .map(|c| format!("{}.{} {}{}", c.table, c.column, c.class, if c.nullable { " null" } else { "" }))
        .collect();
    insta::assert_snapshot!("schema", listing.join("\n"));

    let Some(pg) = TestDb::postgres().await else { return };
    let pg_columns = pg.store.columns().await.unwrap();
    let only_sqlite: Vec<_> = columns.iter().filter(|c| !pg_columns.contains(c)).collect();
    let only_pg: Vec<_> = pg_columns.iter().filter(|c| !columns.contains(c)).collect();
    assert!(
        only_sqlite.is_empty() && only_pg.is_empty(),
        "schemas differ\nonly in SQLite: {only_sqlite:#?}\nonly in PostgreSQL: {only_pg:#?}"
    );
}
