//! The job queue: enqueueing with the change, coalescing, claims, leases and give-backs.

use std::time::Duration;

use sync_store::{JobId, JobKind, JobState, PutOutcome, StoreError};

use crate::harness::{ACME, START, TestStore, employee, id, renamed};

const LEASE: Duration = Duration::from_secs(60);

store_tests!(
    a_stored_change_enqueues_one_sync_job,
    a_stale_or_unchanged_change_enqueues_nothing,
    a_stored_removal_enqueues_a_job_and_an_unknown_one_does_not,
    a_create_older_than_an_earlier_removal_enqueues_nothing,
    two_changes_coalesce_into_one_queued_job,
    a_change_while_running_queues_a_second_job_that_waits_for_the_first,
    claims_never_return_two_jobs_of_one_employee,
    a_job_is_not_claimed_before_its_run_at,
    an_expired_lease_lets_another_worker_reclaim_the_job,
    a_worker_that_lost_its_lease_changes_nothing,
    a_rescheduled_job_waits_and_keeps_its_error,
    a_failed_job_stays_until_retried,
    a_new_change_replaces_a_failed_job,
    retrying_is_refused_for_other_tenants_and_other_states,
    a_job_given_back_while_a_change_waits_folds_into_it,
    a_deferred_job_keeps_its_attempts_and_its_error,
    a_deferred_job_is_due_at_once_when_its_key_is_enqueued_again,
    a_job_deferred_while_a_change_waits_folds_into_it_uncounted,
    deferring_a_job_needs_its_lease,
    releasing_leases_queues_running_jobs_with_their_attempts,
    releasing_a_lease_folds_into_a_waiting_change,
    tenant_jobs_coalesce_per_tenant_and_need_no_employee,
    a_tenant_job_and_the_tenants_employee_jobs_never_run_at_once,
    a_due_reconcile_is_not_starved_by_a_stream_of_employee_jobs,
    a_renewed_lease_keeps_the_job_and_a_lost_one_is_refused,
    a_tenants_waiting_jobs_are_deferred_and_woken_in_one_write,
    a_restart_frees_the_services_run_locks_and_closes_their_runs,
    queue_depth_counts_every_state,
    jobs_are_listed_by_tenant_and_state,
);

async fn a_stored_change_enqueues_one_sync_job(store: &TestStore) {
    let store = store.with_acme().await;

    let outcome = store
        .put_employee_and_enqueue(ACME, &employee("E-1"), 1)
        .await
        .unwrap();

    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(outcome, PutOutcome::Stored);
    assert_eq!(jobs.len(), 1);
    let job = &jobs[0];
    assert_eq!(job.kind, JobKind::SyncEmployee);
    assert_eq!(job.employee_id, Some(id("E-1")));
    assert_eq!(job.state, JobState::Queued);
    assert_eq!(job.attempts, 0);
    assert_eq!((job.run_at, job.changed_at), (START, START));
    assert_eq!(job.last_error, None);
    assert_eq!((job.locked_by.as_deref(), job.locked_until), (None, None));
}

async fn a_stale_or_unchanged_change_enqueues_nothing(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 5).await.unwrap();

    let stale = store
        .put_employee_and_enqueue(ACME, &renamed("E-1", "Old Name"), 4)
        .await
        .unwrap();
    let unchanged = store
        .put_employee_and_enqueue(ACME, &employee("E-1"), 6)
        .await
        .unwrap();

    assert_eq!(stale, PutOutcome::Stale);
    assert_eq!(unchanged, PutOutcome::Unchanged);
    assert!(store.jobs(None, None, 10).await.unwrap().is_empty());
}

async fn a_stored_removal_enqueues_a_job_and_an_unknown_one_does_not(store: &TestStore) {
    let store = store.with_acme().await;
    store.put_employee(ACME, &employee("E-1"), 1).await.unwrap();

    let unknown = store
        .remove_employee_and_enqueue(ACME, &id("E-9"), 2)
        .await
        .unwrap();
    let removed = store
        .remove_employee_and_enqueue(ACME, &id("E-1"), 2)
        .await
        .unwrap();

    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(
        (unknown, removed),
        (PutOutcome::Unchanged, PutOutcome::Stored)
    );
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].employee_id, Some(id("E-1")));
    assert!(
        !store
            .employee(ACME, &id("E-1"))
            .await
            .unwrap()
            .unwrap()
            .present
    );
}

async fn a_create_older_than_an_earlier_removal_enqueues_nothing(store: &TestStore) {
    let store = store.with_acme().await;
    let removed = store
        .remove_employee_and_enqueue(ACME, &id("V-2"), 10)
        .await
        .unwrap();

    let created = store
        .put_employee_and_enqueue(ACME, &employee("V-2"), 9)
        .await
        .unwrap();

    assert_eq!(
        (removed, created),
        (PutOutcome::Unchanged, PutOutcome::Stale)
    );
    assert!(store.jobs(Some(ACME), None, 10).await.unwrap().is_empty());
    assert_eq!(store.employee(ACME, &id("V-2")).await.unwrap(), None);
}

async fn two_changes_coalesce_into_one_queued_job(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .put_employee_and_enqueue(ACME, &employee("E-1"), 1)
        .await
        .unwrap();
    store.at_minute(3);

    store
        .put_employee_and_enqueue(ACME, &renamed("E-1", "Zoë Novak"), 2)
        .await
        .unwrap();
    let again = store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();

    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, again);
    assert_eq!(jobs[0].run_at, START, "the earlier run time is kept");
    assert_eq!(jobs[0].changed_at, START, "the oldest change is kept");
}

async fn a_change_while_running_queues_a_second_job_that_waits_for_the_first(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .put_employee_and_enqueue(ACME, &employee("E-1"), 1)
        .await
        .unwrap();
    let first = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    let changed = START + time::Duration::seconds(30);
    store.clock.set(changed);

    let second = store
        .put_employee_and_enqueue(ACME, &renamed("E-1", "Zoë Novak"), 2)
        .await
        .unwrap();
    let blocked = store.claim_job("w2", LEASE).await.unwrap();
    store.complete_job(first.id, "w1").await.unwrap();
    let next = store.claim_job("w2", LEASE).await.unwrap().unwrap();

    assert_eq!(second, PutOutcome::Stored);
    assert_eq!(blocked, None, "one employee's jobs never run at once");
    assert_ne!(next.id, first.id);
    assert_eq!(next.employee_id, Some(id("E-1")));
    assert_eq!(next.changed_at, changed);
}

async fn claims_never_return_two_jobs_of_one_employee(store: &TestStore) {
    let store = store.with_acme().await;
    for employee_id in ["E-1", "E-2"] {
        store
            .enqueue(ACME, JobKind::SyncEmployee, Some(&id(employee_id)))
            .await
            .unwrap();
    }
    let first = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store
        .enqueue(ACME, JobKind::SyncEmployee, first.employee_id.as_ref())
        .await
        .unwrap();

    let second = store.claim_job("w2", LEASE).await.unwrap().unwrap();
    let third = store.claim_job("w3", LEASE).await.unwrap();

    assert_ne!(first.employee_id, second.employee_id);
    assert_eq!(third, None);
}

async fn a_job_is_not_claimed_before_its_run_at(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    let retry_at = START + time::Duration::minutes(5);
    store
        .reschedule_job(job.id, "w1", "akiles 503", retry_at)
        .await
        .unwrap();

    store.at_minute(4);
    let early = store.claim_job("w1", LEASE).await.unwrap();
    store.at_minute(5);
    let due = store.claim_job("w1", LEASE).await.unwrap().unwrap();

    assert_eq!(early, None);
    assert_eq!(due.id, job.id);
    assert_eq!(due.attempts, 2);
}

async fn an_expired_lease_lets_another_worker_reclaim_the_job(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let first = store.claim_job("w1", LEASE).await.unwrap().unwrap();

    let during = store.claim_job("w2", LEASE).await.unwrap();
    store.at_minute(1);
    let reclaimed = store.claim_job("w2", LEASE).await.unwrap().unwrap();

    assert_eq!(first.locked_until, Some(START + time::Duration::minutes(1)));
    assert_eq!(during, None);
    assert_eq!(reclaimed.id, first.id);
    assert_eq!(reclaimed.locked_by.as_deref(), Some("w2"));
    assert_eq!(reclaimed.attempts, 2);
    assert_eq!(
        reclaimed.locked_until,
        Some(START + time::Duration::minutes(2))
    );
}

async fn a_worker_that_lost_its_lease_changes_nothing(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.at_minute(2);
    store.claim_job("w2", LEASE).await.unwrap().unwrap();

    let results = [
        store.complete_job(job.id, "w1").await,
        store.reschedule_job(job.id, "w1", "late", START).await,
        store.fail_job(job.id, "w1", "late").await,
    ];

    for (index, result) in results.into_iter().enumerate() {
        assert!(
            matches!(result, Err(StoreError::LostLease(found)) if found == job.id),
            "call {index} gave {result:?}"
        );
    }
    let jobs = store.jobs(None, None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Running);
    assert_eq!(jobs[0].locked_by.as_deref(), Some("w2"));
    assert_eq!(jobs[0].last_error, None);
    store.complete_job(job.id, "w2").await.unwrap();
    assert!(matches!(
        store.complete_job(job.id, "w2").await,
        Err(StoreError::LostLease(_))
    ));
}

async fn a_rescheduled_job_waits_and_keeps_its_error(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    let retry_at = START + time::Duration::seconds(30);

    store
        .reschedule_job(job.id, "w1", "rate limited", retry_at)
        .await
        .unwrap();

    let jobs = store.jobs(None, None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].run_at, retry_at);
    assert_eq!(jobs[0].attempts, 1);
    assert_eq!(jobs[0].last_error.as_deref(), Some("rate limited"));
    assert_eq!(
        (jobs[0].locked_by.as_deref(), jobs[0].locked_until),
        (None, None)
    );
}

async fn a_failed_job_stays_until_retried(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.fail_job(job.id, "w1", "member quota").await.unwrap();
    store.at_minute(10);

    let idle = store.claim_job("w1", LEASE).await.unwrap();
    let failed = store
        .jobs(Some(ACME), Some(JobState::Failed), 10)
        .await
        .unwrap();
    let retried = store.retry_failed_job(ACME, job.id).await.unwrap();
    let again = store.claim_job("w1", LEASE).await.unwrap().unwrap();

    assert_eq!(idle, None);
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("member quota"));
    assert!(retried);
    assert_eq!(again.id, job.id);
    assert_eq!(again.attempts, 1, "attempts start over on retry");
    assert_eq!(again.run_at, START + time::Duration::minutes(10));
}

async fn a_new_change_replaces_a_failed_job(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .put_employee_and_enqueue(ACME, &employee("E-1"), 1)
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.fail_job(job.id, "w1", "bad card").await.unwrap();
    store.at_minute(5);

    store
        .put_employee_and_enqueue(ACME, &renamed("E-1", "Zoë Novak"), 2)
        .await
        .unwrap();

    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].attempts, 0);
    assert_eq!(jobs[0].run_at, START + time::Duration::minutes(5));
    assert_eq!(
        jobs[0].changed_at, START,
        "it still covers the older change"
    );
    assert!(!store.retry_failed_job(ACME, job.id).await.unwrap());
}

async fn retrying_is_refused_for_other_tenants_and_other_states(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let failing = store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.fail_job(failing, "w1", "boom").await.unwrap();
    let queued = store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-2")))
        .await
        .unwrap();

    let other_tenant = store.retry_failed_job("globex", failing).await.unwrap();
    let not_failed = store.retry_failed_job(ACME, queued).await.unwrap();
    let unknown = store.retry_failed_job(ACME, JobId(999)).await.unwrap();

    assert!(!other_tenant);
    assert!(!not_failed);
    assert!(!unknown);
    let failed = store
        .jobs(Some(ACME), Some(JobState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].id, failing);
}

async fn a_job_given_back_while_a_change_waits_folds_into_it(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let running = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.at_minute(1);
    let waiting = store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let retry_at = START + time::Duration::minutes(3);

    store
        .reschedule_job(running.id, "w1", "akiles 503", retry_at)
        .await
        .unwrap();

    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, waiting);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].run_at, retry_at, "the backoff holds");
    assert_eq!(jobs[0].changed_at, START, "the older change is covered");
    assert_eq!(jobs[0].attempts, 1);
    assert_eq!(jobs[0].last_error.as_deref(), Some("akiles 503"));
}

async fn a_deferred_job_keeps_its_attempts_and_its_error(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let first = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store
        .reschedule_job(first.id, "w1", "akiles 503", START)
        .await
        .unwrap();

    let mut deferred_to = START;
    for minute in 1..=10 {
        let now = store.at_minute(minute);
        let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
        assert_eq!(job.attempts, 2, "claim {minute} counts one attempt on top");
        deferred_to = now + time::Duration::seconds(30);
        store.defer_job(job.id, "w1", deferred_to).await.unwrap();
    }

    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].attempts, 1, "waiting used up no attempt");
    assert_eq!(jobs[0].run_at, deferred_to);
    assert_eq!(jobs[0].last_error.as_deref(), Some("akiles 503"));
    assert_eq!(
        (jobs[0].locked_by.as_deref(), jobs[0].locked_until),
        (None, None)
    );
    assert_eq!(store.claim_job("w1", LEASE).await.unwrap(), None);
}

async fn a_deferred_job_is_due_at_once_when_its_key_is_enqueued_again(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store
        .defer_job(job.id, "w1", START + time::Duration::minutes(30))
        .await
        .unwrap();
    let now = store.at_minute(1);

    let again = store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let claimed = store.claim_job("w1", LEASE).await.unwrap().unwrap();

    assert_eq!(again, job.id);
    assert_eq!(claimed.id, job.id);
    assert_eq!(claimed.run_at, now);
    assert_eq!(claimed.attempts, 1);
}

async fn a_job_deferred_while_a_change_waits_folds_into_it_uncounted(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let running = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.at_minute(1);
    let waiting = store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let wait_until = START + time::Duration::minutes(2);

    store.defer_job(running.id, "w1", wait_until).await.unwrap();

    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, waiting);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].run_at, wait_until);
    assert_eq!(jobs[0].changed_at, START);
    assert_eq!(jobs[0].attempts, 0);
    assert_eq!(jobs[0].last_error, None);
}

async fn deferring_a_job_needs_its_lease(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();

    let result = store.defer_job(job.id, "w2", START).await;

    assert!(matches!(result, Err(StoreError::LostLease(found)) if found == job.id));
    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs[0].state, JobState::Running);
    assert_eq!(jobs[0].attempts, 1);
}

async fn releasing_leases_queues_running_jobs_with_their_attempts(store: &TestStore) {
    let store = store.with_acme().await;
    for employee_id in ["E-1", "E-2", "E-3"] {
        store
            .enqueue(ACME, JobKind::SyncEmployee, Some(&id(employee_id)))
            .await
            .unwrap();
    }
    let first = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store
        .reschedule_job(first.id, "w1", "akiles 503", START)
        .await
        .unwrap();
    let again = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    let other = store.claim_job("w2", LEASE).await.unwrap().unwrap();

    let released = store.release_leases().await.unwrap();

    assert_eq!(released, 2);
    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|job| job.state == JobState::Queued
        && job.locked_by.is_none()
        && job.locked_until.is_none()));
    let attempts_of = |wanted: JobId| jobs.iter().find(|job| job.id == wanted).unwrap().attempts;
    assert_eq!((attempts_of(again.id), attempts_of(other.id)), (2, 1));
    let error = &jobs
        .iter()
        .find(|job| job.id == again.id)
        .unwrap()
        .last_error;
    assert_eq!(error.as_deref(), Some("akiles 503"));
    assert!(store.claim_job("w3", LEASE).await.unwrap().is_some());
    assert_eq!(store.release_leases().await.unwrap(), 1);
}

async fn releasing_a_lease_folds_into_a_waiting_change(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.at_minute(1);
    let waiting = store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();

    let released = store.release_leases().await.unwrap();

    assert_eq!(released, 1);
    let jobs = store.jobs(Some(ACME), None, 10).await.unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, waiting);
    assert_eq!(jobs[0].state, JobState::Queued);
    assert_eq!(jobs[0].changed_at, START);
    assert_eq!(jobs[0].attempts, 1);
}

async fn tenant_jobs_coalesce_per_tenant_and_need_no_employee(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();

    let first = store
        .enqueue(ACME, JobKind::SyncTenant, None)
        .await
        .unwrap();
    let second = store
        .enqueue(ACME, JobKind::SyncTenant, None)
        .await
        .unwrap();
    let other = store
        .enqueue("globex", JobKind::SyncTenant, None)
        .await
        .unwrap();
    let wrong = [
        store
            .enqueue(ACME, JobKind::SyncTenant, Some(&id("E-1")))
            .await,
        store.enqueue(ACME, JobKind::SyncEmployee, None).await,
    ];

    assert_eq!(first, second);
    assert_ne!(first, other);
    for result in wrong {
        assert!(
            matches!(result, Err(StoreError::JobSubject(_))),
            "{result:?}"
        );
    }
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    assert_eq!((job.kind, job.employee_id), (JobKind::SyncTenant, None));
    assert!(matches!(
        store.enqueue("initech", JobKind::SyncTenant, None).await,
        Err(StoreError::UnknownTenant(_))
    ));
}

async fn a_tenant_job_and_the_tenants_employee_jobs_never_run_at_once(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    store
        .enqueue("globex", JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();

    let employee = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    let other_tenant = store.claim_job("w2", LEASE).await.unwrap().unwrap();
    store
        .enqueue(ACME, JobKind::SyncTenant, None)
        .await
        .unwrap();
    let blocked_tenant_job = store.claim_job("w3", LEASE).await.unwrap();
    store.complete_job(employee.id, "w1").await.unwrap();
    let tenant_job = store.claim_job("w3", LEASE).await.unwrap().unwrap();
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-2")))
        .await
        .unwrap();
    let blocked_employee = store.claim_job("w1", LEASE).await.unwrap();
    store.complete_job(tenant_job.id, "w3").await.unwrap();
    let after = store.claim_job("w1", LEASE).await.unwrap().unwrap();

    assert_eq!(employee.employee_id, Some(id("E-1")));
    assert_eq!(other_tenant.tenant, "globex");
    assert_eq!(
        blocked_tenant_job, None,
        "a reconcile waits for running employee jobs"
    );
    assert_eq!(tenant_job.kind, JobKind::SyncTenant);
    assert_eq!(
        blocked_employee, None,
        "employee jobs wait for the running reconcile"
    );
    assert_eq!(after.employee_id, Some(id("E-2")));
}

async fn a_due_reconcile_is_not_starved_by_a_stream_of_employee_jobs(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    let running = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store
        .enqueue(ACME, JobKind::SyncTenant, None)
        .await
        .unwrap();
    store
        .enqueue(ACME, JobKind::SyncEmployee, Some(&id("E-2")))
        .await
        .unwrap();

    let while_running = store.claim_job("w2", LEASE).await.unwrap();
    store.complete_job(running.id, "w1").await.unwrap();
    let next = store.claim_job("w2", LEASE).await.unwrap().unwrap();

    assert_eq!(
        while_running, None,
        "a new employee job waits for the due reconcile"
    );
    assert_eq!(next.kind, JobKind::SyncTenant);
}

async fn a_renewed_lease_keeps_the_job_and_a_lost_one_is_refused(store: &TestStore) {
    let store = store.with_acme().await;
    store
        .enqueue(ACME, JobKind::SyncTenant, None)
        .await
        .unwrap();
    let job = store.claim_job("w1", LEASE).await.unwrap().unwrap();

    // With a 60 s lease: renewed at 45 s, so still live at 90 s.
    store.clock.set(START + time::Duration::seconds(45));
    store.renew_job_lease(job.id, "w1", LEASE).await.unwrap();
    store.clock.set(START + time::Duration::seconds(90));
    let while_renewed = store.claim_job("w2", LEASE).await.unwrap();
    let stranger = store.renew_job_lease(job.id, "w2", LEASE).await;

    assert_eq!(while_renewed, None, "the renewed lease is still live");
    assert!(matches!(stranger, Err(StoreError::LostLease(_))));
}

async fn a_tenants_waiting_jobs_are_deferred_and_woken_in_one_write(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    for employee in ["E-1", "E-2", "E-3"] {
        store
            .enqueue(ACME, JobKind::SyncEmployee, Some(&id(employee)))
            .await
            .unwrap();
    }
    store
        .enqueue("globex", JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();

    let deferred = store
        .defer_tenant_jobs(ACME, store.at_minute(0) + time::Duration::minutes(5))
        .await
        .unwrap();
    let claimed = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    let nothing_else = store.claim_job("w2", LEASE).await.unwrap();
    let woken = store.wake_tenant_jobs(ACME).await.unwrap();
    let now_due = store.claim_job("w2", LEASE).await.unwrap().unwrap();

    assert_eq!(deferred, 3);
    assert_eq!(
        claimed.tenant, "globex",
        "another tenant's jobs are not touched"
    );
    assert_eq!(nothing_else, None);
    assert_eq!(woken, 3);
    assert_eq!(now_due.tenant, ACME);
}

async fn a_restart_frees_the_services_run_locks_and_closes_their_runs(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    let long = Duration::from_secs(300);
    assert!(
        store
            .try_lock_runs(ACME, "serve-dead-0", long)
            .await
            .unwrap()
    );
    let dead_run = store.start_run(ACME, "reconcile").await.unwrap();
    assert!(
        store
            .try_lock_runs("globex", "run-cli-1", long)
            .await
            .unwrap()
    );
    let cli_run = store.start_run("globex", "import").await.unwrap();

    store.release_leases().await.unwrap();

    assert!(
        store
            .try_lock_runs(ACME, "serve-new-0", long)
            .await
            .unwrap(),
        "the dead worker's lock is gone"
    );
    assert!(
        !store
            .try_lock_runs("globex", "serve-new-1", long)
            .await
            .unwrap(),
        "a CLI run keeps its lock"
    );
    let acme_runs = store.runs(ACME, 5).await.unwrap();
    let dead = acme_runs.iter().find(|r| r.id == dead_run).unwrap();
    assert!(dead.finished_at.is_some());
    assert_eq!(dead.summary["interrupted"], true);
    let globex_runs = store.runs("globex", 5).await.unwrap();
    let alive = globex_runs.iter().find(|r| r.id == cli_run).unwrap();
    assert_eq!(alive.finished_at, None);
}

async fn queue_depth_counts_every_state(store: &TestStore) {
    let store = store.with_acme().await;
    let empty = store.queue_depth().await.unwrap();
    for employee_id in ["E-1", "E-2", "E-3"] {
        store
            .enqueue(ACME, JobKind::SyncEmployee, Some(&id(employee_id)))
            .await
            .unwrap();
    }
    let failing = store.claim_job("w1", LEASE).await.unwrap().unwrap();
    store.fail_job(failing.id, "w1", "boom").await.unwrap();
    store.claim_job("w1", LEASE).await.unwrap().unwrap();

    let depth = store.queue_depth().await.unwrap();

    assert_eq!(empty.values().sum::<u64>(), 0);
    assert_eq!(empty.len(), 3, "every state is listed");
    assert_eq!(depth[&JobState::Queued], 1);
    assert_eq!(depth[&JobState::Running], 1);
    assert_eq!(depth[&JobState::Failed], 1);
}

async fn jobs_are_listed_by_tenant_and_state(store: &TestStore) {
    let store = store.with_acme().await;
    store.ensure_tenant("globex").await.unwrap();
    for employee_id in ["E-1", "E-2", "E-3"] {
        store
            .enqueue(ACME, JobKind::SyncEmployee, Some(&id(employee_id)))
            .await
            .unwrap();
    }
    store
        .enqueue("globex", JobKind::SyncEmployee, Some(&id("E-1")))
        .await
        .unwrap();
    store.claim_job("w1", LEASE).await.unwrap().unwrap();

    let all = store.jobs(None, None, 10).await.unwrap();
    let acme = store.jobs(Some(ACME), None, 10).await.unwrap();
    let queued = store
        .jobs(Some(ACME), Some(JobState::Queued), 10)
        .await
        .unwrap();
    let limited = store.jobs(None, None, 2).await.unwrap();

    assert_eq!(all.len(), 4);
    assert!(
        all.windows(2).all(|pair| pair[0].id < pair[1].id),
        "oldest first"
    );
    assert_eq!(acme.len(), 3);
    assert!(acme.iter().all(|job| job.tenant == ACME));
    assert_eq!(queued.len(), 2);
    assert_eq!(limited.len(), 2);
}
