//! The store contract suite: every case runs on SQLite and on PostgreSQL.
//!
//! Write a case once in `cases` as `async fn name(store: &Store)` and list it in the
//! `store_tests!` invocation at the bottom; the macro instantiates it per backend.

mod cases;
mod issue_queries;
mod monitor_cases;
mod parity;

macro_rules! store_tests {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = faultline_store::testing::TestDb::sqlite().await;
                    crate::cases::$case(&db.store).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = faultline_store::testing::TestDb::postgres().await else { return };
                    crate::cases::$case(&db.store).await;
                }
            )*
        }
    };
}

store_tests!(
    users_are_unique_by_email_in_any_case,
    organizations_projects_and_keys,
    key_auth_reflects_switches,
    queue_claims_with_a_lease,
    queue_claims_never_overlap,
    jobs_run_retry_and_give_up,
    unique_jobs_are_enqueued_once,
    timestamps_round_trip,
    digest_batch_creates_issues_and_counts,
    digest_is_exactly_once,
    events_compressed_with_a_project_dictionary_read_back,
    racing_batches_store_each_row_once,
    released_rows_are_stored_by_the_next_batch,
    batches_past_their_lease_leave_spooled_rows,
    resolved_issues_regress_ignored_do_not,
    merge_and_unmerge,
    alert_rules_outbox_and_log,
    alert_firing_and_claims_are_exclusive,
    monitors_are_claimed_once_per_slot,
    monitor_checks_roll_up_and_transition,
    leases_have_one_holder,
    advisory_locks_have_one_holder,
);
