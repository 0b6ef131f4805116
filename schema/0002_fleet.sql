--
-- schema/0002_fleet.sql
--	  The fleet: feeders, ISO markets and retail programs, sites
--	  (service points), the DER columns the fleet needs, FERC Order 2222
--	  aggregations, enrollment requests, and effective-dated enrollments
--	  in aggregation_members.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c (no BEGIN/COMMIT
--	  here).  Power is kW in the columns this file adds (hosting capacity,
--	  export cap, minimum sizes); der_resources keeps 0001's W/VA/Wh.
--
--	  History.  aggregation_members rows are never deleted and never
--	  rewritten: ending an enrollment sets effective_to once (from NULL,
--	  to a time after effective_from); a trigger refuses everything else.
--	  "The fleet as of T" is every row with effective_from <= T and
--	  (effective_to IS NULL OR effective_to > T).
--
--	  No double counting.  Each member row carries the iso_market_id of its
--	  aggregation (filled by trigger), and an exclusion constraint keeps a
--	  DER in at most one aggregation per market at any instant.  A retail
--	  program is an iso_markets row of kind 'retail'; being in a retail
--	  program and a wholesale aggregation at the same time is allowed only
--	  when that retail program's allow_dual_participation is true (the
--	  utility's rule, per program, as FERC 2222 leaves it).  The member
--	  trigger enforces it.
--
--	  Row-level security.  sites, der_resources, aggregations,
--	  aggregation_members and enrollment_requests have RLS enabled (not
--	  forced).  Aggregator-scoped work runs as the NOLOGIN role
--	  dermsd_tenant, entered per transaction with
--	    SET LOCAL ROLE dermsd_tenant;
--	    SELECT set_config('dermsd.tenant_id', '<tenant id>', true);
--	  and its policies show only rows whose tenant_id equals that setting
--	  (members: rows of the tenant's aggregations).  An unset or empty
--	  setting matches nothing: forgetting it fails closed.  Operator and
--	  internal sessions (dermsctl, dispatch, settlement, operator API) run
--	  as the connecting user, the tables' owner, which RLS does not filter;
--	  that is the bypass.  The role is created here when missing (needs
--	  CREATEROLE or superuser) and granted to the migrating user so it may
--	  SET ROLE into it; roles are cluster-wide, so several databases of
--	  one cluster share it.
--

CREATE EXTENSION IF NOT EXISTS btree_gist;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dermsd_tenant') THEN
		BEGIN
			CREATE ROLE dermsd_tenant NOLOGIN NOBYPASSRLS;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN
			NULL;				-- another database's migration made it
		END;
	END IF;
	-- the migrating user (dermsd's) must be able to SET ROLE into it
	IF NOT pg_has_role(current_user, 'dermsd_tenant', 'MEMBER') THEN
		EXECUTE format('GRANT dermsd_tenant TO %I', current_user);
	END IF;
END;
$$;

-- The tenant of the current aggregator-scoped transaction; NULL (matches
-- nothing) when unset.
CREATE FUNCTION fleet_tenant() RETURNS bigint
LANGUAGE sql STABLE AS $$
	SELECT nullif(current_setting('dermsd.tenant_id', true), '')::bigint
$$;

-- ---------------------------------------------------------------------
-- Reference data
-- ---------------------------------------------------------------------

CREATE TABLE feeders
(
	id			bigserial PRIMARY KEY,
	name		text NOT NULL UNIQUE
		CONSTRAINT feeders_name_check CHECK (name <> ''),
	hosting_capacity_kw double precision NOT NULL
		CONSTRAINT feeders_hosting_capacity_kw_check
		CHECK (hosting_capacity_kw >= 0),
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- ISO markets and the utility's retail programs.
CREATE TABLE iso_markets
(
	id			bigserial PRIMARY KEY,
	name		text NOT NULL UNIQUE
		CONSTRAINT iso_markets_name_check CHECK (name <> ''),
	kind		text NOT NULL DEFAULT 'wholesale'
		CONSTRAINT iso_markets_kind_check CHECK (kind IN ('wholesale', 'retail')),
	min_size_kw double precision NOT NULL DEFAULT 100
		CONSTRAINT iso_markets_min_size_kw_check CHECK (min_size_kw >= 0),
	allow_dual_participation boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT iso_markets_dual_check
		CHECK (kind = 'retail' OR NOT allow_dual_participation)
);

CREATE TABLE sites
(
	id			bigserial PRIMARY KEY,
	meter_id	text NOT NULL UNIQUE
		CONSTRAINT sites_meter_id_check CHECK (meter_id <> ''),
	tenant_id	bigint REFERENCES tenants (id),
	address		text NOT NULL,
	feeder_id	bigint NOT NULL REFERENCES feeders (id),
	transformer	text,
	pricing_node text NOT NULL,
	time_zone	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sites_feeder_id_idx ON sites (feeder_id);
CREATE INDEX sites_tenant_id_idx ON sites (tenant_id);

-- ---------------------------------------------------------------------
-- DERs: the fleet's columns on 0001's table
-- ---------------------------------------------------------------------

ALTER TABLE der_resources
	ADD COLUMN external_id text
		CONSTRAINT der_resources_external_id_key UNIQUE
		CONSTRAINT der_resources_external_id_check CHECK (external_id <> ''),
	ADD COLUMN site_id bigint REFERENCES sites (id),
	ADD COLUMN tenant_id bigint REFERENCES tenants (id),
	ADD COLUMN inverter_make text,
	ADD COLUMN inverter_model text,
	ADD COLUMN lfdi char(40)
		CONSTRAINT der_resources_lfdi_key UNIQUE
		CONSTRAINT der_resources_lfdi_check CHECK (lfdi ~ '^[0-9A-F]{40}$'),
	ADD COLUMN sfdi bigint
		CONSTRAINT der_resources_sfdi_key UNIQUE
		CONSTRAINT der_resources_sfdi_check CHECK (sfdi >= 0),
	ADD COLUMN ven_name text,
	ADD COLUMN resource_name text,
	ADD COLUMN interconnection_status text NOT NULL DEFAULT 'applied'
		CONSTRAINT der_resources_interconnection_status_check
		CHECK (interconnection_status IN ('applied', 'approved', 'interconnected',
										  'disconnected')),
	ADD COLUMN interconnection_date date,
	ADD COLUMN export_cap_kw double precision
		CONSTRAINT der_resources_export_cap_kw_check CHECK (export_cap_kw >= 0),
	ADD CONSTRAINT der_resources_interconnected_date_check
		CHECK (interconnection_status <> 'interconnected'
			   OR interconnection_date IS NOT NULL),
	ADD CONSTRAINT der_resources_va_check
		CHECK (rated_va IS NULL OR rated_w IS NULL OR rated_va >= rated_w),
	ADD CONSTRAINT der_resources_export_cap_check
		CHECK (export_cap_kw IS NULL OR rated_w IS NULL
			   OR export_cap_kw * 1000 <= rated_w),
	ADD CONSTRAINT der_resources_openadr_check
		CHECK (resource_name IS NULL OR ven_name IS NOT NULL);

CREATE INDEX der_resources_site_id_idx ON der_resources (site_id);
CREATE INDEX der_resources_tenant_id_idx ON der_resources (tenant_id);

-- ---------------------------------------------------------------------
-- Aggregations (FERC Order 2222)
-- ---------------------------------------------------------------------

ALTER TABLE aggregations
	ADD COLUMN iso_market_id bigint REFERENCES iso_markets (id),
	ADD COLUMN min_size_kw double precision
		CONSTRAINT aggregations_min_size_kw_check CHECK (min_size_kw >= 0),
	ADD COLUMN effective_from timestamptz,
	ADD COLUMN effective_to timestamptz,
	ADD CONSTRAINT aggregations_effective_check
		CHECK (effective_to IS NULL OR effective_from IS NULL
			   OR effective_to > effective_from),
	ADD CONSTRAINT aggregations_iso_resource_key
		UNIQUE (iso_market_id, iso_resource_id);

-- ---------------------------------------------------------------------
-- Enrollment requests
-- ---------------------------------------------------------------------

CREATE TABLE enrollment_requests
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL REFERENCES tenants (id),
	der_id		bigint NOT NULL REFERENCES der_resources (id),
	aggregation_id bigint NOT NULL REFERENCES aggregations (id),
	feeder_id	bigint REFERENCES feeders (id),	-- as the aggregator states it
	effective_from timestamptz NOT NULL,
	effective_to timestamptz,
	status		text NOT NULL DEFAULT 'requested'
		CONSTRAINT enrollment_requests_status_check
		CHECK (status IN ('requested', 'approved', 'rejected', 'withdrawn')),
	findings	jsonb NOT NULL DEFAULT '[]',
	requested_by text NOT NULL,
	requested_at timestamptz NOT NULL DEFAULT now(),
	decided_by	text,
	decided_at	timestamptz,
	reason		text,
	CONSTRAINT enrollment_requests_effective_check
		CHECK (effective_to IS NULL OR effective_to > effective_from),
	CONSTRAINT enrollment_requests_decided_check
		CHECK ((status = 'requested') = (decided_at IS NULL)),
	CONSTRAINT enrollment_requests_reject_reason_check
		CHECK (status <> 'rejected' OR reason IS NOT NULL)
);

CREATE INDEX enrollment_requests_tenant_id_idx ON enrollment_requests (tenant_id);
CREATE INDEX enrollment_requests_status_idx ON enrollment_requests (status);
-- at most one open request per DER and aggregation
CREATE UNIQUE INDEX enrollment_requests_open_key
	ON enrollment_requests (der_id, aggregation_id) WHERE status = 'requested';

-- ---------------------------------------------------------------------
-- Enrollments: aggregation_members, effective-dated
-- ---------------------------------------------------------------------

ALTER TABLE aggregation_members
	ADD COLUMN iso_market_id bigint REFERENCES iso_markets (id),
	ADD COLUMN request_id bigint REFERENCES enrollment_requests (id),
	ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
	ADD CONSTRAINT aggregation_members_one_per_market
		EXCLUDE USING gist (der_id WITH =, iso_market_id WITH =,
							tstzrange(effective_from, effective_to, '[)') WITH &&);

CREATE INDEX aggregation_members_window_idx
	ON aggregation_members (aggregation_id, effective_from);

-- New rows: take the market from the aggregation and apply the retail
-- programs' dual-participation rule.
CREATE FUNCTION aggregation_members_before_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	clash		text;
BEGIN
	SELECT a.iso_market_id INTO NEW.iso_market_id
		FROM aggregations a WHERE a.id = NEW.aggregation_id;
	SELECT m2.name INTO clash
		FROM aggregation_members o
		JOIN iso_markets m1 ON m1.id = NEW.iso_market_id
		JOIN iso_markets m2 ON m2.id = o.iso_market_id
		WHERE o.der_id = NEW.der_id
		  AND o.iso_market_id <> NEW.iso_market_id
		  AND tstzrange(o.effective_from, o.effective_to, '[)')
			  && tstzrange(NEW.effective_from, NEW.effective_to, '[)')
		  AND m1.kind <> m2.kind
		  AND NOT (CASE WHEN m1.kind = 'retail' THEN m1.allow_dual_participation
						ELSE m2.allow_dual_participation END)
		LIMIT 1;
	IF clash IS NOT NULL THEN
		RAISE EXCEPTION 'DER % is in program "%" at that time, which does not allow dual participation',
			NEW.der_id, clash
			USING ERRCODE = 'exclusion_violation';
	END IF;
	RETURN NEW;
END;
$$;

CREATE TRIGGER aggregation_members_before_insert
	BEFORE INSERT ON aggregation_members
	FOR EACH ROW EXECUTE FUNCTION aggregation_members_before_insert();

-- History is never rewritten: the only change is ending an open row.
CREATE FUNCTION aggregation_members_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		RAISE EXCEPTION 'enrollment history is never deleted'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'end an enrollment by setting effective_to';
	END IF;
	IF OLD.effective_to IS NOT NULL
		OR NEW.aggregation_id IS DISTINCT FROM OLD.aggregation_id
		OR NEW.der_id IS DISTINCT FROM OLD.der_id
		OR NEW.effective_from IS DISTINCT FROM OLD.effective_from
		OR NEW.iso_market_id IS DISTINCT FROM OLD.iso_market_id
		OR NEW.request_id IS DISTINCT FROM OLD.request_id
		OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
		RAISE EXCEPTION 'enrollment history is never rewritten; only an open enrollment may be ended'
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END;
$$;

CREATE TRIGGER aggregation_members_guard
	BEFORE UPDATE OR DELETE ON aggregation_members
	FOR EACH ROW EXECUTE FUNCTION aggregation_members_guard();

-- ---------------------------------------------------------------------
-- Row-level security for aggregator-scoped transactions
-- ---------------------------------------------------------------------

ALTER TABLE sites ENABLE ROW LEVEL SECURITY;
ALTER TABLE der_resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE aggregations ENABLE ROW LEVEL SECURITY;
ALTER TABLE aggregation_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE enrollment_requests ENABLE ROW LEVEL SECURITY;

CREATE POLICY sites_tenant ON sites TO dermsd_tenant
	USING (tenant_id = fleet_tenant());
CREATE POLICY der_resources_tenant ON der_resources TO dermsd_tenant
	USING (tenant_id = fleet_tenant());
CREATE POLICY aggregations_tenant ON aggregations TO dermsd_tenant
	USING (tenant_id = fleet_tenant());
-- the subquery is itself filtered by aggregations_tenant
CREATE POLICY aggregation_members_tenant ON aggregation_members TO dermsd_tenant
	USING (aggregation_id IN (SELECT id FROM aggregations));
CREATE POLICY enrollment_requests_tenant ON enrollment_requests TO dermsd_tenant
	USING (tenant_id = fleet_tenant())
	WITH CHECK (tenant_id = fleet_tenant());

GRANT SELECT ON feeders, iso_markets, sites, der_resources, aggregations,
	aggregation_members TO dermsd_tenant;
GRANT SELECT, INSERT ON enrollment_requests TO dermsd_tenant;
GRANT USAGE ON SEQUENCE enrollment_requests_id_seq TO dermsd_tenant;
