-- The claim looks, for each candidate, at its tenant's running jobs and at a due reconcile
-- of its tenant; without this index each look scans the whole queue (seconds per claim
-- with a few thousand jobs waiting).
CREATE INDEX jobs_by_tenant ON jobs (tenant, state, kind, run_at);
