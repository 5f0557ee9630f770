-- SQLite. Counterpart: migrations/postgres/0006_alert_conditions.sql.
-- More alert conditions: users affected, a tag filter, and a switch for the
-- frequency condition.

-- users_quantity: also fire when at least this many distinct users (the `user`
-- tag) saw the issue within timespan_minutes (NULL: no such condition).
ALTER TABLE alert_rules ADD COLUMN users_quantity BIGINT;
-- tag_key/tag_value: only issues that had an event with this tag value within
-- timespan_minutes count (both NULL: no filter).
ALTER TABLE alert_rules ADD COLUMN tag_key TEXT;
ALTER TABLE alert_rules ADD COLUMN tag_value TEXT;
-- on_frequency: whether `quantity` events within timespan_minutes fire the rule
-- (GlitchTip's condition, so true for existing rules; false for rules that fire
-- only on new issues, regressions or users affected).
ALTER TABLE alert_rules ADD COLUMN on_frequency BOOLEAN NOT NULL DEFAULT TRUE;
