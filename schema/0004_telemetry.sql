--
-- schema/0004_telemetry.sql
--	  Telemetry that IEEE 2030.5 devices post through mirror usage points:
--	  the MirrorUsagePoints, their MirrorMeterReadings (one per reading
--	  type), and the readings themselves in a table partitioned by month.
--
-- NOTES
--	  readings is keyed on (meter reading, interval start): a retry after
--	  a lost acknowledgement inserts nothing new (ON CONFLICT DO NOTHING),
--	  so ingest is idempotent.  Partitions are made on demand by
--	  readings_ensure_month(), which the ingest path calls for each month it
--	  is about to write and which serializes concurrent callers.
--	  Dispatch and settlement read readings joined to reading_type (uom,
--	  powerOfTenMultiplier, flowDirection ...).
--

CREATE TABLE mirror_usage_points
(
	id			bigserial PRIMARY KEY,
	mrid		text NOT NULL UNIQUE
		CONSTRAINT mirror_usage_points_mrid_check CHECK (mrid ~ '^[0-9A-F]{2,32}$'),
	device_lfdi char(40) NOT NULL
		CONSTRAINT mirror_usage_points_lfdi_check CHECK (device_lfdi ~ '^[0-9A-F]{40}$'),
	posted_by	char(40) NOT NULL,	-- LFDI of the certificate that created it
	tenant_id	bigint REFERENCES tenants (id),
	doc			jsonb NOT NULL,		-- roleFlags, serviceCategoryKind, status ...
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX mirror_usage_points_device_idx ON mirror_usage_points (device_lfdi);

CREATE TABLE mirror_meter_readings
(
	id			bigserial PRIMARY KEY,
	mup_id		bigint NOT NULL REFERENCES mirror_usage_points (id),
	mrid		text NOT NULL
		CONSTRAINT mirror_meter_readings_mrid_check CHECK (mrid ~ '^[0-9A-F]{2,32}$'),
	doc			jsonb NOT NULL,		-- description ...
	reading_type jsonb,				-- ReadingType elements, when sent
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (mup_id, mrid)
);

CREATE TABLE readings
(
	mmr_id		bigint NOT NULL,	-- mirror_meter_readings.id
	interval_start timestamptz NOT NULL,
	duration_s	integer NOT NULL CONSTRAINT readings_duration_check CHECK (duration_s >= 0),
	value		bigint NOT NULL,
	quality_flags text,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (mmr_id, interval_start)
) PARTITION BY RANGE (interval_start);

CREATE FUNCTION readings_ensure_month(at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	lo		timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
	hi		timestamptz := lo + interval '1 month';
	name	text := 'readings_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
	IF to_regclass(name) IS NOT NULL THEN
		RETURN;
	END IF;
	-- one creator at a time; the loser finds the table made
	PERFORM pg_advisory_xact_lock(hashtext('readings_ensure_month'));
	IF to_regclass(name) IS NULL THEN
		EXECUTE format('CREATE TABLE %I PARTITION OF readings FOR VALUES FROM (%L) TO (%L)',
					   name, lo, hi);
	END IF;
END;
$$;
