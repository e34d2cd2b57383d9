-- Retention purges delete by age (`signpost purge` and the purge loop every 6 hours):
-- without these, each purge reads the whole audit trail and link-check history.
CREATE INDEX audit_by_time ON audit_log (at);
CREATE INDEX link_checks_by_time ON link_checks (checked_at);
