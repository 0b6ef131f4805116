--
-- schema/0016_grid_events.sql
--	  Grid events: one operator record per instruction to an aggregation
--	  (a dispatch setpoint, a price, an import or export capacity limit)
--	  that reaches IEEE 2030.5 devices as DERControls and OpenADR VENs as
--	  an event.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c.  The operator
--	  API (protocols/openadr/grid.c) writes, in one transaction, the
--	  grid_events row, one DERControl per interval in the aggregation's
--	  aggregation-scoped DERProgram (none for a price: see the design note),
--	  and one OpenADR event in the tenant's grid program; both carry the
--	  grid event's id (grid_event_id), so a cancel finds them: the
--	  DERControls get cancelled_at, the OpenADR event is deleted (the YAML
--	  has no cancelled state), and the row's status becomes 'cancelled'.
--	  intervals is [{"start": epoch seconds, "duration": seconds,
--	  "value": number}, ...] in start order, values in units.
--

CREATE TABLE grid_events
(
	id			bigserial PRIMARY KEY,
	aggregation_id bigint NOT NULL REFERENCES aggregations (id),
	tenant_id	bigint NOT NULL REFERENCES tenants (id),	-- the aggregation's
	kind		text NOT NULL
		CONSTRAINT grid_events_kind_check
		CHECK (kind IN ('dispatch_setpoint', 'price', 'import_capacity_limit',
						'export_capacity_limit')),
	units		text NOT NULL
		CONSTRAINT grid_events_units_check CHECK (units ~ '^[A-Z_]{1,32}$'),
	intervals	jsonb NOT NULL
		CONSTRAINT grid_events_intervals_check
		CHECK (jsonb_typeof(intervals) = 'array' AND jsonb_array_length(intervals) > 0),
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	status		text NOT NULL DEFAULT 'active'
		CONSTRAINT grid_events_status_check CHECK (status IN ('active', 'cancelled')),
	cancelled_at timestamptz,
	cancelled_by text,
	CONSTRAINT grid_events_cancelled_check
		CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL))
);
CREATE INDEX grid_events_aggregation_idx ON grid_events (aggregation_id, id);

ALTER TABLE der_controls
	ADD COLUMN grid_event_id bigint REFERENCES grid_events (id);
CREATE INDEX der_controls_grid_event_idx ON der_controls (grid_event_id)
	WHERE grid_event_id IS NOT NULL;

ALTER TABLE oadr_events
	ADD COLUMN grid_event_id bigint REFERENCES grid_events (id);
CREATE INDEX oadr_events_grid_event_idx ON oadr_events (grid_event_id)
	WHERE grid_event_id IS NOT NULL;
