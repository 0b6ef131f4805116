--
-- schema/0018_dispatch.sql
--	  Fleet dispatch in production: the operator's targets per
--	  aggregation (ISO awards, utility requests), every solve with its
--	  inputs, costs and bound, the schedules it made per resource and
--	  interval, and the link from the controls and events that published
--	  a run back to it.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c.
--
--	  Targets are only appended.  The target of an aggregation for an
--	  interval is the newest row (highest id) whose interval covers it, so
--	  a corrected award is posted again rather than edited.
--
--	  A run (dispatch/store.c) is written in one transaction with its
--	  schedules, its audit record and, unless asked not to, its
--	  publication (protocols/grid/publish.c): the DERControls and OpenADR
--	  events it made carry dispatch_run_id, and publishing a run cancels
--	  the controls and deletes the events of the aggregation's earlier
--	  runs that have not ended.  instance is the solver's input exactly
--	  (the dermsd-dispatch-instance/1 JSON of dispatch/DESIGN.md), so a
--	  run can be solved again offline for a dispute.
--
--	  dispatch_run_resources says how each member was seen when the run
--	  was made (online with a recent status, offline and left out, or
--	  with an assumed SoC because it never reported one); the dispatch
--	  role compares it with the present to decide on a re-dispatch.
--

CREATE TABLE dispatch_targets
(
	id			bigserial PRIMARY KEY,
	aggregation_id bigint NOT NULL REFERENCES aggregations (id),
	interval_start timestamptz NOT NULL,
	interval_s	integer NOT NULL
		CONSTRAINT dispatch_targets_interval_check CHECK (interval_s IN (300, 900, 3600)),
	mw			double precision NOT NULL,
	price_per_mwh double precision,
	reserve_mwh double precision
		CONSTRAINT dispatch_targets_reserve_check CHECK (reserve_mwh >= 0),
	source		text NOT NULL
		CONSTRAINT dispatch_targets_source_check
		CHECK (source IN ('iso_award', 'utility_request')),
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX dispatch_targets_aggregation_idx
	ON dispatch_targets (aggregation_id, interval_start, id DESC);

CREATE TABLE dispatch_runs
(
	id			bigserial PRIMARY KEY,
	aggregation_id bigint NOT NULL REFERENCES aggregations (id),
	reason		text NOT NULL,
	horizon_start timestamptz NOT NULL,
	interval_s	integer NOT NULL,
	intervals	integer NOT NULL,
	instance	jsonb NOT NULL,
	status		text NOT NULL DEFAULT 'solved'
		CONSTRAINT dispatch_runs_status_check
		CHECK (status IN ('solved', 'published')),
	method		text NOT NULL,
	cost		jsonb NOT NULL,		-- total, energy, degradation, penalties
	lower_bound double precision NOT NULL,
	gap			double precision NOT NULL,
	shortfall_mwh double precision NOT NULL,
	surplus_mwh double precision NOT NULL,
	violations	integer NOT NULL,	-- dispatch_check_schedule, beyond 1e-6
	iterations	integer NOT NULL,
	solve_s		double precision NOT NULL,
	targets_seen bigint NOT NULL,	-- newest dispatch_targets.id it knew
	der_controls integer NOT NULL DEFAULT 0,
	oadr_events integer NOT NULL DEFAULT 0,
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	published_at timestamptz
);

CREATE INDEX dispatch_runs_aggregation_idx ON dispatch_runs (aggregation_id, id DESC);

CREATE TABLE dispatch_run_resources
(
	run_id		bigint NOT NULL REFERENCES dispatch_runs (id),
	der_id		bigint NOT NULL REFERENCES der_resources (id),
	state		text NOT NULL
		CONSTRAINT dispatch_run_resources_state_check
		CHECK (state IN ('online', 'offline', 'assumed', 'unsupported')),
	soc			double precision,	-- fraction at the run, when known
	status_at	timestamptz,		-- the DERStatus it was read from
	PRIMARY KEY (run_id, der_id)
);

CREATE TABLE dispatch_schedules
(
	run_id		bigint NOT NULL REFERENCES dispatch_runs (id),
	der_id		bigint NOT NULL REFERENCES der_resources (id),
	interval_start timestamptz NOT NULL,
	power_kw	double precision NOT NULL,	-- positive: injection
	soc			double precision,	-- fraction at the interval's end
	PRIMARY KEY (run_id, der_id, interval_start)
);

ALTER TABLE der_controls
	ADD COLUMN dispatch_run_id bigint REFERENCES dispatch_runs (id);
CREATE INDEX der_controls_dispatch_run_idx ON der_controls (dispatch_run_id)
	WHERE dispatch_run_id IS NOT NULL;

ALTER TABLE oadr_events
	ADD COLUMN dispatch_run_id bigint REFERENCES dispatch_runs (id);
CREATE INDEX oadr_events_dispatch_run_idx ON oadr_events (dispatch_run_id)
	WHERE dispatch_run_id IS NOT NULL;
