--
-- schema/0011_openadr.sql
--	  The OpenADR 3.1 VTN objects: programs, events, reports,
--	  subscriptions, vens and resources, each kept as its validated request
--	  body (jsonb) beside the columns that filters, uniqueness and privacy
--	  need, with row-level security that enforces the VTN's privacy rules.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c.  Ids are
--	  bigserial, served as decimal strings.  Names and targets are
--	  generated from the body, so they never disagree with it.
--
--	  Privacy.  Calls of an aggregator's BL client and of every VEN client
--	  run as role dermsd_tenant (see 0002) with these settings, local to
--	  the transaction:
--	    dermsd.tenant_id   the client's tenant ('' when it has none)
--	    dermsd.vtn_role    'bl' or 'ven'
--	    dermsd.client_id   the OAuth client_id (the token's subject)
--	    dermsd.targets     VENs: the granted targets, a text[] literal:
--	                       the targets of the VEN's ven objects and of
--	                       their resources (oadr_granted_targets())
--	  The policies say:
--	    BL of tenant T   reads and writes rows of tenant T, and reads
--	                     utility-wide (tenant NULL) programs and events;
--	    VEN (T, C)       reads programs and events of tenant T or NULL
--	                     whose targets are empty or meet the granted ones
--	                     (an event also needs its program visible); owns
--	                     the vens, reports and subscriptions whose
--	                     client_id is C, and the resources of those vens;
--	                     creates reports only on events it can read, and
--	                     never sets or changes targets on vens or
--	                     resources (trigger).
--	  An unset setting matches nothing, so a scope forgotten in C fails
--	  closed.  The operator's BL client (no tenant) runs as the tables'
--	  owner, which RLS does not filter (as in 0002).  Removing targets a
--	  VEN was not granted from the programs and events it reads is done
--	  by oadr_visible_targets() in the statements that serve them.
--
--	  Deleting a program deletes its events, and deleting an event its
--	  reports (ON DELETE CASCADE); deleting a ven deletes its resources.
--	  The API reads those children before the delete and queues their
--	  notifications too.  reports.program_id follows its event's program
--	  (trigger oadr_events_moved).
--

CREATE FUNCTION oadr_role() RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT nullif(current_setting('dermsd.vtn_role', true), '')
$$;

CREATE FUNCTION oadr_client() RETURNS text
LANGUAGE sql STABLE AS $$
	SELECT nullif(current_setting('dermsd.client_id', true), '')
$$;

CREATE FUNCTION oadr_granted() RETURNS text[]
LANGUAGE sql STABLE AS $$
	SELECT coalesce(nullif(current_setting('dermsd.targets', true), '')::text[],
					'{}'::text[])
$$;

-- jsonb array of strings (or null) -> text[] (NULL when absent or empty)
CREATE FUNCTION oadr_text_array(j jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE WHEN jsonb_typeof(j) = 'array' AND jsonb_array_length(j) > 0
		THEN ARRAY(SELECT jsonb_array_elements_text(j)) END
$$;

-- May a VEN with the current granted targets read an object with t?
CREATE FUNCTION oadr_targets_granted(t text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
	SELECT t IS NULL OR cardinality(t) = 0 OR t && oadr_granted()
$$;

-- t without the targets a VEN was not granted, in order (BL: t as is).
CREATE FUNCTION oadr_visible_targets(t text[]) RETURNS text[]
LANGUAGE sql STABLE AS $$
	SELECT CASE WHEN oadr_role() IS DISTINCT FROM 'ven' OR t IS NULL THEN t
		ELSE ARRAY(SELECT x FROM unnest(t) WITH ORDINALITY AS u(x, n)
				   WHERE x = ANY (oadr_granted()) ORDER BY n) END
$$;

CREATE TABLE oadr_programs
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint REFERENCES tenants (id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	modified_at timestamptz NOT NULL DEFAULT now(),
	body		jsonb NOT NULL
		CONSTRAINT oadr_programs_body_check CHECK (jsonb_typeof(body) = 'object'),
	program_name text GENERATED ALWAYS AS (body ->> 'programName') STORED NOT NULL
		CONSTRAINT oadr_programs_program_name_key UNIQUE,
	targets		text[] GENERATED ALWAYS AS (oadr_text_array(body -> 'targets')) STORED
);
CREATE INDEX oadr_programs_targets_idx ON oadr_programs USING gin (targets);
CREATE INDEX oadr_programs_tenant_idx ON oadr_programs (tenant_id);

CREATE TABLE oadr_events
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint REFERENCES tenants (id),
	program_id	bigint NOT NULL REFERENCES oadr_programs (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	modified_at timestamptz NOT NULL DEFAULT now(),
	ends_at		timestamptz,	-- NULL: never stops being active
	body		jsonb NOT NULL
		CONSTRAINT oadr_events_body_check CHECK (jsonb_typeof(body) = 'object'),
	targets		text[] GENERATED ALWAYS AS (oadr_text_array(body -> 'targets')) STORED
);
CREATE INDEX oadr_events_program_idx ON oadr_events (program_id);
CREATE INDEX oadr_events_targets_idx ON oadr_events USING gin (targets);
CREATE INDEX oadr_events_ends_idx ON oadr_events (ends_at);

CREATE TABLE oadr_reports
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint REFERENCES tenants (id),
	event_id	bigint NOT NULL REFERENCES oadr_events (id) ON DELETE CASCADE,
	program_id	bigint NOT NULL,	-- the event's, for the programID filter
	client_id	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	modified_at timestamptz NOT NULL DEFAULT now(),
	body		jsonb NOT NULL
		CONSTRAINT oadr_reports_body_check CHECK (jsonb_typeof(body) = 'object'),
	client_name text GENERATED ALWAYS AS (body ->> 'clientName') STORED
);
CREATE INDEX oadr_reports_event_idx ON oadr_reports (event_id);
CREATE INDEX oadr_reports_program_idx ON oadr_reports (program_id);
CREATE INDEX oadr_reports_client_idx ON oadr_reports (client_id);

CREATE TABLE oadr_subscriptions
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint REFERENCES tenants (id),
	client_id	text NOT NULL,
	vtn_role	text NOT NULL
		CONSTRAINT oadr_subscriptions_vtn_role_check CHECK (vtn_role IN ('bl', 'ven')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	modified_at timestamptz NOT NULL DEFAULT now(),
	body		jsonb NOT NULL
		CONSTRAINT oadr_subscriptions_body_check CHECK (jsonb_typeof(body) = 'object'),
	program_id	text GENERATED ALWAYS AS (body ->> 'programID') STORED,
	client_name text GENERATED ALWAYS AS (body ->> 'clientName') STORED,
	targets		text[] GENERATED ALWAYS AS (oadr_text_array(body -> 'targets')) STORED
);
CREATE INDEX oadr_subscriptions_client_idx ON oadr_subscriptions (client_id);

CREATE TABLE oadr_vens
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint REFERENCES tenants (id),
	client_id	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	modified_at timestamptz NOT NULL DEFAULT now(),
	body		jsonb NOT NULL
		CONSTRAINT oadr_vens_body_check CHECK (jsonb_typeof(body) = 'object'),
	ven_name	text GENERATED ALWAYS AS (body ->> 'venName') STORED NOT NULL
		CONSTRAINT oadr_vens_ven_name_key UNIQUE,
	targets		text[] GENERATED ALWAYS AS (oadr_text_array(body -> 'targets')) STORED
);
CREATE INDEX oadr_vens_client_idx ON oadr_vens (client_id);
CREATE INDEX oadr_vens_targets_idx ON oadr_vens USING gin (targets);

CREATE TABLE oadr_resources
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint REFERENCES tenants (id),
	ven_id		bigint NOT NULL REFERENCES oadr_vens (id) ON DELETE CASCADE,
	client_id	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	modified_at timestamptz NOT NULL DEFAULT now(),
	body		jsonb NOT NULL
		CONSTRAINT oadr_resources_body_check CHECK (jsonb_typeof(body) = 'object'),
	resource_name text GENERATED ALWAYS AS (body ->> 'resourceName') STORED NOT NULL,
	targets		text[] GENERATED ALWAYS AS (oadr_text_array(body -> 'targets')) STORED,
	CONSTRAINT oadr_resources_name_key UNIQUE (ven_id, resource_name)
);
CREATE INDEX oadr_resources_targets_idx ON oadr_resources USING gin (targets);

-- The targets a VEN client has been granted (run in its scope).
CREATE FUNCTION oadr_granted_targets(p_client text) RETURNS text[]
LANGUAGE sql STABLE AS $$
	SELECT coalesce(array_agg(DISTINCT t ORDER BY t), '{}'::text[])
	FROM (SELECT unnest(v.targets) AS t FROM oadr_vens v WHERE v.client_id = p_client
		  UNION ALL
		  SELECT unnest(r.targets) FROM oadr_resources r
			JOIN oadr_vens v ON v.id = r.ven_id WHERE v.client_id = p_client) s
$$;

-- A VEN never sets or changes targets of vens and resources.
CREATE FUNCTION oadr_ven_targets_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF oadr_role() = 'ven'
		AND ((TG_OP = 'INSERT' AND NEW.targets IS NOT NULL)
			 OR (TG_OP = 'UPDATE' AND NEW.targets IS DISTINCT FROM OLD.targets)) THEN
		RAISE EXCEPTION 'a VEN may not set targets on %', TG_TABLE_NAME
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END;
$$;

CREATE TRIGGER oadr_vens_targets_guard BEFORE INSERT OR UPDATE ON oadr_vens
	FOR EACH ROW EXECUTE FUNCTION oadr_ven_targets_guard();
CREATE TRIGGER oadr_resources_targets_guard BEFORE INSERT OR UPDATE ON oadr_resources
	FOR EACH ROW EXECUTE FUNCTION oadr_ven_targets_guard();

-- An event moved to another program takes its reports' programID along.
-- SECURITY DEFINER: the BL moving the event may not write reports.
CREATE FUNCTION oadr_event_moved() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public AS $$
BEGIN
	UPDATE oadr_reports SET program_id = NEW.program_id WHERE event_id = NEW.id;
	RETURN NULL;
END;
$$;

CREATE TRIGGER oadr_events_moved AFTER UPDATE OF program_id ON oadr_events
	FOR EACH ROW WHEN (OLD.program_id IS DISTINCT FROM NEW.program_id)
	EXECUTE FUNCTION oadr_event_moved();

-- ---------------------------------------------------------------------
-- Row-level security
-- ---------------------------------------------------------------------

ALTER TABLE oadr_programs ENABLE ROW LEVEL SECURITY;
ALTER TABLE oadr_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE oadr_reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE oadr_subscriptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE oadr_vens ENABLE ROW LEVEL SECURITY;
ALTER TABLE oadr_resources ENABLE ROW LEVEL SECURITY;

-- programs: read as above; written by an aggregator's BL, its own only
CREATE POLICY oadr_programs_read ON oadr_programs FOR SELECT TO dermsd_tenant
	USING ((tenant_id IS NULL OR tenant_id = fleet_tenant())
		   AND (oadr_role() = 'bl'
				OR (oadr_role() = 'ven' AND oadr_targets_granted(targets))));
CREATE POLICY oadr_programs_insert ON oadr_programs FOR INSERT TO dermsd_tenant
	WITH CHECK (oadr_role() = 'bl' AND tenant_id = fleet_tenant());
CREATE POLICY oadr_programs_update ON oadr_programs FOR UPDATE TO dermsd_tenant
	USING (oadr_role() = 'bl' AND tenant_id = fleet_tenant())
	WITH CHECK (oadr_role() = 'bl' AND tenant_id = fleet_tenant());
CREATE POLICY oadr_programs_delete ON oadr_programs FOR DELETE TO dermsd_tenant
	USING (oadr_role() = 'bl' AND tenant_id = fleet_tenant());

-- events: the same, and the program must be readable (filtered itself)
CREATE POLICY oadr_events_read ON oadr_events FOR SELECT TO dermsd_tenant
	USING ((tenant_id IS NULL OR tenant_id = fleet_tenant())
		   AND (oadr_role() = 'bl'
				OR (oadr_role() = 'ven' AND oadr_targets_granted(targets)))
		   AND program_id IN (SELECT id FROM oadr_programs));
CREATE POLICY oadr_events_insert ON oadr_events FOR INSERT TO dermsd_tenant
	WITH CHECK (oadr_role() = 'bl' AND tenant_id = fleet_tenant());
CREATE POLICY oadr_events_update ON oadr_events FOR UPDATE TO dermsd_tenant
	USING (oadr_role() = 'bl' AND tenant_id = fleet_tenant())
	WITH CHECK (oadr_role() = 'bl' AND tenant_id = fleet_tenant());
CREATE POLICY oadr_events_delete ON oadr_events FOR DELETE TO dermsd_tenant
	USING (oadr_role() = 'bl' AND tenant_id = fleet_tenant());

-- reports: a VEN's own; an aggregator's BL reads its tenant's
CREATE POLICY oadr_reports_read ON oadr_reports FOR SELECT TO dermsd_tenant
	USING ((oadr_role() = 'ven' AND client_id = oadr_client())
		   OR (oadr_role() = 'bl' AND tenant_id = fleet_tenant()));
CREATE POLICY oadr_reports_insert ON oadr_reports FOR INSERT TO dermsd_tenant
	WITH CHECK (oadr_role() = 'ven' AND client_id = oadr_client()
				AND tenant_id IS NOT DISTINCT FROM fleet_tenant()
				AND event_id IN (SELECT id FROM oadr_events));
CREATE POLICY oadr_reports_update ON oadr_reports FOR UPDATE TO dermsd_tenant
	USING (oadr_role() = 'ven' AND client_id = oadr_client())
	WITH CHECK (oadr_role() = 'ven' AND client_id = oadr_client()
				AND event_id IN (SELECT id FROM oadr_events));
CREATE POLICY oadr_reports_delete ON oadr_reports FOR DELETE TO dermsd_tenant
	USING (oadr_role() = 'ven' AND client_id = oadr_client());

-- subscriptions: the client's own; an aggregator's BL: its tenant's
CREATE POLICY oadr_subscriptions_own ON oadr_subscriptions TO dermsd_tenant
	USING ((oadr_role() = 'ven' AND client_id = oadr_client())
		   OR (oadr_role() = 'bl' AND tenant_id = fleet_tenant()))
	WITH CHECK ((oadr_role() = 'ven' AND client_id = oadr_client()
				 AND tenant_id IS NOT DISTINCT FROM fleet_tenant())
				OR (oadr_role() = 'bl' AND tenant_id = fleet_tenant()));

-- vens: the client's own; an aggregator's BL: its tenant's
CREATE POLICY oadr_vens_own ON oadr_vens TO dermsd_tenant
	USING ((oadr_role() = 'ven' AND client_id = oadr_client())
		   OR (oadr_role() = 'bl' AND tenant_id = fleet_tenant()))
	WITH CHECK ((oadr_role() = 'ven' AND client_id = oadr_client())
				OR (oadr_role() = 'bl' AND tenant_id = fleet_tenant()));

-- resources: of the VEN's own vens (filtered); BL: its tenant's
CREATE POLICY oadr_resources_own ON oadr_resources TO dermsd_tenant
	USING ((oadr_role() = 'ven' AND ven_id IN (SELECT id FROM oadr_vens))
		   OR (oadr_role() = 'bl' AND tenant_id = fleet_tenant()))
	WITH CHECK ((oadr_role() = 'ven' AND client_id = oadr_client()
				 AND ven_id IN (SELECT id FROM oadr_vens))
				OR (oadr_role() = 'bl' AND tenant_id = fleet_tenant()
					AND ven_id IN (SELECT id FROM oadr_vens)));

GRANT SELECT, INSERT, UPDATE, DELETE ON oadr_programs, oadr_events, oadr_reports,
	oadr_subscriptions, oadr_vens, oadr_resources TO dermsd_tenant;
GRANT USAGE ON SEQUENCE oadr_programs_id_seq, oadr_events_id_seq, oadr_reports_id_seq,
	oadr_subscriptions_id_seq, oadr_vens_id_seq, oadr_resources_id_seq TO dermsd_tenant;
