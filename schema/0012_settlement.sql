--
-- schema/0012_settlement.sql
--	  Settlement storage: bulk-imported interval meter data, dispatch
--	  instructions and prices with their import sequence, the view that
--	  joins them with IEEE 2030.5 telemetry, and settlement statements.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c (no BEGIN/COMMIT
--	  here).
--
--	  Meter data.  settlement_readings holds interval energy (kWh, as
--	  float8 so the decimal of the CSV round-trips exactly) keyed by DER
--	  and interval start, partitioned by month like 0004's readings and
--	  made on demand by settlement_readings_ensure_month().  An import
--	  replaces the intervals it carries (actual data over earlier values);
--	  a row changes only when its value or length does, and then takes the
--	  import's id (replaced_import_id keeps the one it replaced), so
--	  max(import_id) over the rows an export reads is the version of its
--	  input.  There is no foreign key to der_resources:
--	  dermsctl resolves every resource before COPY, and a per-row check
--	  would cost more than the whole import.
--
--	  One fleet.  settlement_interval_data is what dispatch and settlement
--	  read: the imported rows, plus the interval energy (uom 72 Wh,
--	  deltaData, forward flow) that a DER's own EndDevice posted through
--	  IEEE 2030.5 mirror usage points (matched on the DER's LFDI) for
--	  intervals no import covers.  Revenue-meter data wins where both exist.
--
--	  Statements.  settlement_statements rows are never rewritten or
--	  deleted (trigger); a re-run with different inputs adds version n + 1
--	  of the aggregation-day.  Aggregators read their own statements under
--	  the tenant scope of 0002 (policy on tenant_id, copied from the
--	  aggregation when the statement is made).
--

CREATE TABLE settlement_imports
(
	id			bigserial PRIMARY KEY,
	kind		text NOT NULL
		CONSTRAINT settlement_imports_kind_check
		CHECK (kind IN ('readings', 'instructions', 'prices')),
	file_name	text NOT NULL,
	file_sha256 char(64) NOT NULL
		CONSTRAINT settlement_imports_sha_check CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
	rows		bigint NOT NULL CONSTRAINT settlement_imports_rows_check CHECK (rows >= 0),
	inserted	bigint NOT NULL DEFAULT 0,
	replaced	bigint NOT NULL DEFAULT 0,
	unchanged	bigint NOT NULL DEFAULT 0,
	imported_by text NOT NULL,
	imported_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE settlement_readings
(
	der_id		bigint NOT NULL,
	interval_start timestamptz NOT NULL,
	interval_s	integer NOT NULL
		CONSTRAINT settlement_readings_interval_check CHECK (interval_s IN (300, 900, 3600)),
	kwh			double precision NOT NULL,
	import_id	bigint NOT NULL,
	replaced_import_id bigint,	-- the import of the value this one replaced
	PRIMARY KEY (der_id, interval_start)
) PARTITION BY RANGE (interval_start);

CREATE FUNCTION settlement_readings_ensure_month(at timestamptz) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	lo		timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
	hi		timestamptz := lo + interval '1 month';
	name	text := 'settlement_readings_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
	IF to_regclass(name) IS NOT NULL THEN
		RETURN;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('settlement_readings_ensure_month'));
	IF to_regclass(name) IS NULL THEN
		EXECUTE format('CREATE TABLE %I PARTITION OF settlement_readings FOR VALUES FROM (%L) TO (%L)',
					   name, lo, hi);
	END IF;
END;
$$;

-- kWh to deliver per instruction interval (dispatch has no table of its
-- own yet); replaced per (DER, start) like readings.
CREATE TABLE settlement_instructions
(
	der_id		bigint NOT NULL REFERENCES der_resources (id),
	interval_start timestamptz NOT NULL,
	interval_s	integer NOT NULL
		CONSTRAINT settlement_instructions_interval_check CHECK (interval_s IN (300, 900, 3600)),
	kwh			double precision NOT NULL,
	import_id	bigint NOT NULL REFERENCES settlement_imports (id),
	replaced_import_id bigint,
	PRIMARY KEY (der_id, interval_start)
);

-- Energy prices per ISO ("caiso", "pjm", "nyiso", "generic"), per MWh.
CREATE TABLE settlement_prices
(
	iso			text NOT NULL
		CONSTRAINT settlement_prices_iso_check CHECK (iso IN ('caiso', 'pjm', 'nyiso', 'generic')),
	interval_start timestamptz NOT NULL,
	interval_s	integer NOT NULL
		CONSTRAINT settlement_prices_interval_check CHECK (interval_s IN (300, 900, 3600)),
	price_per_mwh double precision NOT NULL,
	import_id	bigint NOT NULL REFERENCES settlement_imports (id),
	replaced_import_id bigint,
	PRIMARY KEY (iso, interval_start)
);

CREATE VIEW settlement_interval_data AS
	SELECT r.der_id, r.interval_start, r.interval_s, r.kwh,
		   'import'::text AS source, r.import_id
		FROM settlement_readings r
	UNION ALL
	SELECT d.id, x.interval_start, x.duration_s,
		   x.value * power(10::double precision,
						   coalesce((m.reading_type ->> 'powerOfTenMultiplier')::int, 0)) / 1000.0,
		   'sep2'::text, NULL::bigint
		FROM der_resources d
		JOIN mirror_usage_points u ON u.device_lfdi = d.lfdi
		JOIN mirror_meter_readings m ON m.mup_id = u.id
		JOIN readings x ON x.mmr_id = m.id
		WHERE d.lfdi IS NOT NULL
		  AND m.reading_type ->> 'uom' = '72'
		  AND coalesce(m.reading_type ->> 'accumulationBehaviour', '4') = '4'
		  AND coalesce(m.reading_type ->> 'flowDirection', '1') = '1'
		  AND x.duration_s IN (300, 900, 3600)
		  AND NOT EXISTS (SELECT 1 FROM settlement_readings s
						  WHERE s.der_id = d.id AND s.interval_start = x.interval_start);

CREATE TABLE settlement_statements
(
	id			bigserial PRIMARY KEY,
	aggregation_id bigint NOT NULL REFERENCES aggregations (id),
	tenant_id	bigint NOT NULL REFERENCES tenants (id),
	trading_day date NOT NULL,
	version		integer NOT NULL CONSTRAINT settlement_statements_version_check CHECK (version >= 1),
	iso			text NOT NULL,
	zone		text NOT NULL,
	interval_minutes integer NOT NULL,
	method		text,
	event_start timestamptz,
	event_end	timestamptz,
	members		integer NOT NULL,
	energy_kwh	numeric NOT NULL,
	baseline_kwh numeric,
	delivered_kwh numeric,
	instructed_kwh numeric,
	under_kwh	numeric,
	over_kwh	numeric,
	performance_ratio double precision,
	estimated_intervals integer NOT NULL,
	value		numeric,
	inputs_sha256 char(64) NOT NULL,
	inputs		jsonb NOT NULL,		-- versions, row counts, digests
	intervals	jsonb NOT NULL,		-- the aggregation's intervals
	chart_svg	text NOT NULL,
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT settlement_statements_version_key UNIQUE (aggregation_id, trading_day, version)
);

CREATE FUNCTION settlement_statements_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'settlement statements are never rewritten; a re-run adds a version'
		USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER settlement_statements_guard
	BEFORE UPDATE OR DELETE ON settlement_statements
	FOR EACH ROW EXECUTE FUNCTION settlement_statements_guard();

ALTER TABLE settlement_statements ENABLE ROW LEVEL SECURITY;
CREATE POLICY settlement_statements_tenant ON settlement_statements
	FOR SELECT TO dermsd_tenant USING (tenant_id = fleet_tenant());
GRANT SELECT ON settlement_statements TO dermsd_tenant;
