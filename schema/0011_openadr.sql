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

-- ---------------------------------------------------------------------
-- Callback verification (dermsd's exchange: the YAML defines none)
-- ---------------------------------------------------------------------
--
-- Every distinct callbackUrl of a subscription is a row of
-- oadr_callbacks.  Creating the subscription, or naming a new URL (or
-- again an unverified one) in a PUT, makes the row 'pending' with a
-- fresh random challenge and queues an outbox row of kind 'oadr_verify'
-- that POSTs {"objectType":"SUBSCRIPTION","operation":"VERIFY",
-- "challenge":...,"subscriptionID":...} with the subscriber's bearer
-- token.  The notify worker hands a 2xx answer to oadr_callback_verify():
-- the answer must echo the challenge (JSON {"challenge":...} or the bare
-- text), else the attempt counts as failed and is retried with backoff.
-- A verification given up (dead or refused) makes the callback
-- 'unverified' (oadr_callback_failed).  Notifications for a callback that
-- is not 'verified' wait in oadr_held and are queued, in order, in the
-- transaction that verifies it.  Neither table is granted to
-- dermsd_tenant: the trigger and the fan-out write them as the owner.
--

CREATE TABLE oadr_callbacks
(
	id			bigserial PRIMARY KEY,
	subscription_id bigint NOT NULL REFERENCES oadr_subscriptions (id) ON DELETE CASCADE,
	url			text NOT NULL,
	state		text NOT NULL DEFAULT 'pending'
		CONSTRAINT oadr_callbacks_state_check
		CHECK (state IN ('pending', 'verified', 'unverified')),
	challenge	text NOT NULL,
	outbox_id	bigint,			-- the verification in flight (notify_outbox.id)
	changed_at	timestamptz NOT NULL DEFAULT now(),
	last_error	text,
	CONSTRAINT oadr_callbacks_key UNIQUE (subscription_id, url)
);
CREATE INDEX oadr_callbacks_outbox_idx ON oadr_callbacks (outbox_id);

CREATE TABLE oadr_held
(
	id			bigserial PRIMARY KEY,
	callback_id bigint NOT NULL REFERENCES oadr_callbacks (id) ON DELETE CASCADE,
	tenant_id	bigint,
	bearer_token text,
	body		text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oadr_held_callback_idx ON oadr_held (callback_id, id);

CREATE FUNCTION oadr_subscription_callbacks() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, public AS $$
DECLARE
	c			record;
	v_state		text;
	v_id		bigint;
	v_challenge text;
BEGIN
	DELETE FROM oadr_callbacks k WHERE k.subscription_id = NEW.id
		AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(NEW.body -> 'objectOperations') e
						WHERE e ->> 'callbackUrl' = k.url);
	FOR c IN SELECT DISTINCT ON (e ->> 'callbackUrl') e ->> 'callbackUrl' AS url,
				e ->> 'bearerToken' AS bearer
			 FROM jsonb_array_elements(NEW.body -> 'objectOperations') WITH ORDINALITY AS x(e, n)
			 WHERE (e ->> 'callbackUrl') ~* '^https?://[^/?#@[:space:]]+([/?#][^[:space:]]*)?$'
			 ORDER BY e ->> 'callbackUrl', n
	LOOP
		SELECT k.state INTO v_state FROM oadr_callbacks k
			WHERE k.subscription_id = NEW.id AND k.url = c.url;
		IF v_state IN ('verified', 'pending') THEN
			CONTINUE;			-- proven, or being proven
		END IF;
		v_challenge := replace(gen_random_uuid()::text, '-', '')
			|| replace(gen_random_uuid()::text, '-', '');
		INSERT INTO oadr_callbacks AS k (subscription_id, url, challenge)
			VALUES (NEW.id, c.url, v_challenge)
			ON CONFLICT (subscription_id, url) DO UPDATE
				SET state = 'pending', challenge = EXCLUDED.challenge,
					changed_at = now(), last_error = NULL
			RETURNING k.id INTO v_id;
		UPDATE oadr_callbacks SET outbox_id = notify_enqueue('oadr_verify', NEW.tenant_id,
				'oadr_callback:' || v_id, c.url,
				CASE WHEN c.bearer ~ '^[!-~]+$' AND char_length(c.bearer) <= 4096
					THEN c.bearer END,
				'application/json',
				jsonb_build_object('objectType', 'SUBSCRIPTION', 'operation', 'VERIFY',
								   'challenge', v_challenge,
								   'subscriptionID', NEW.id::text)::text)
			WHERE id = v_id;
	END LOOP;
	RETURN NULL;
END;
$$;

CREATE TRIGGER oadr_subscriptions_callbacks AFTER INSERT OR UPDATE ON oadr_subscriptions
	FOR EACH ROW EXECUTE FUNCTION oadr_subscription_callbacks();

-- The 2xx answer to verification p_outbox: NULL when it echoes the
-- challenge (or the verification is no longer wanted), else why not.
CREATE FUNCTION oadr_callback_verify(p_outbox bigint, p_answer text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	k			oadr_callbacks;
	h			oadr_held;
	v_echo		text;
BEGIN
	SELECT * INTO k FROM oadr_callbacks WHERE outbox_id = p_outbox FOR UPDATE;
	IF NOT FOUND OR k.state = 'verified' THEN
		RETURN NULL;			-- subscription gone, or URL replaced meanwhile
	END IF;
	BEGIN
		v_echo := p_answer::jsonb ->> 'challenge';
	EXCEPTION WHEN others THEN
		v_echo := NULL;
	END;
	IF v_echo IS NULL THEN
		v_echo := btrim(coalesce(p_answer, ''), E' \t\r\n');
	END IF;
	IF v_echo IS DISTINCT FROM k.challenge THEN
		UPDATE oadr_callbacks SET last_error = 'the answer did not echo the challenge'
			WHERE id = k.id;
		RETURN 'the answer did not echo the challenge';
	END IF;
	UPDATE oadr_callbacks SET state = 'verified', changed_at = now(), last_error = NULL
		WHERE id = k.id;
	FOR h IN SELECT * FROM oadr_held WHERE callback_id = k.id ORDER BY id LOOP
		PERFORM notify_enqueue('openadr', h.tenant_id, 'oadr_subscription:' || k.subscription_id,
							   k.url, h.bearer_token, 'application/json', h.body);
	END LOOP;
	DELETE FROM oadr_held WHERE callback_id = k.id;
	RETURN NULL;
END;
$$;

-- Verification p_outbox was given up: the callback is unverified (its
-- notifications stay held).  Returns the subscription's id, if any.
CREATE FUNCTION oadr_callback_failed(p_outbox bigint, p_why text) RETURNS bigint
LANGUAGE sql AS $$
	UPDATE oadr_callbacks SET state = 'unverified', changed_at = now(), last_error = p_why
		WHERE outbox_id = p_outbox AND state = 'pending'
		RETURNING subscription_id
$$;

-- ---------------------------------------------------------------------
-- Reports as telemetry
-- ---------------------------------------------------------------------
--
-- A report's resources map to fleet DERs of the report's tenant: the DER
-- whose external_id is the resourceName, else the one whose
-- (ven_name, resource_name) is (venName of one of the reporting client's
-- vens, resourceName).  Intervals of USAGE, DEMAND, STORAGE_CHARGE_LEVEL
-- and STORAGE_USABLE_CAPACITY payloads are written as readings of
-- 0004's mirror tables under the DER's 2030.5 identity (its EndDevice's
-- LFDI, else its own), so dispatch, settlement and the fleet API read
-- them as they read 2030.5 telemetry.  One mirror usage point per DER
-- and one mirror meter reading per payload type, with deterministic
-- mRIDs.  oadr_report_readings records which report wrote each reading:
-- an update of the report first removes what it wrote, a delete removes
-- it, so a PUT replaces a report's readings.  Values are converted to
-- the base unit (Wh, W, hundredths of a percent) and rounded.
--

CREATE TABLE oadr_report_readings
(
	mmr_id		bigint NOT NULL,
	interval_start timestamptz NOT NULL,
	report_id	bigint NOT NULL,
	PRIMARY KEY (mmr_id, interval_start)
);
CREATE INDEX oadr_report_readings_report_idx ON oadr_report_readings (report_id);

-- payload type -> (ReadingType, multiplier to the base unit) for units u
CREATE FUNCTION oadr_reading_type(p_type text, p_units text,
								  OUT reading_type jsonb, OUT factor float8)
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE p_type
			WHEN 'USAGE' THEN '{"uom":"72","accumulationBehaviour":"4","flowDirection":"1","powerOfTenMultiplier":"0"}'
			WHEN 'DEMAND' THEN '{"uom":"38","accumulationBehaviour":"12","flowDirection":"1","powerOfTenMultiplier":"0"}'
			WHEN 'STORAGE_USABLE_CAPACITY' THEN '{"uom":"72","accumulationBehaviour":"12","powerOfTenMultiplier":"0"}'
			WHEN 'STORAGE_CHARGE_LEVEL' THEN '{"uom":"0","accumulationBehaviour":"12","powerOfTenMultiplier":"-2"}'
		   END::jsonb,
		   CASE WHEN p_type = 'STORAGE_CHARGE_LEVEL' THEN 100
				ELSE CASE upper(coalesce(p_units,
									CASE p_type WHEN 'DEMAND' THEN 'KW' ELSE 'KWH' END))
						WHEN 'WH' THEN 1 WHEN 'W' THEN 1
						WHEN 'KWH' THEN 1000 WHEN 'KW' THEN 1000
						WHEN 'MWH' THEN 1000000 WHEN 'MW' THEN 1000000
					 END
		   END
$$;

-- ISO 8601 duration text -> seconds (NULL when PostgreSQL cannot read it
-- or it is beyond an int4 of seconds); RFC 3339 text -> timestamptz
CREATE FUNCTION oadr_duration_s(p text) RETURNS integer
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	v			float8;
BEGIN
	v := extract(epoch FROM p::interval);
	RETURN CASE WHEN v BETWEEN 0 AND 2147483647 THEN v::integer END;
EXCEPTION WHEN others THEN
	RETURN NULL;
END;
$$;

CREATE FUNCTION oadr_time(p text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN p::timestamptz;
EXCEPTION WHEN others THEN
	RETURN NULL;
END;
$$;

-- (public first: readings_ensure_month() creates partitions unqualified)
CREATE FUNCTION oadr_report_telemetry() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_catalog AS $$
DECLARE
	x			record;
	v_mup		bigint;
	v_mmr		bigint;
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		DELETE FROM readings r USING oadr_report_readings o
			WHERE o.report_id = OLD.id AND r.mmr_id = o.mmr_id
			  AND r.interval_start = o.interval_start;
		DELETE FROM oadr_report_readings WHERE report_id = OLD.id;
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN NULL;
	END IF;
	FOR x IN
		WITH res AS (
			SELECT re ->> 'resourceName' AS name, re -> 'intervalPeriod' AS rperiod,
				   re -> 'intervals' AS intervals
			FROM jsonb_array_elements(NEW.body -> 'resources') re),
		der AS (
			SELECT res.*, d.id AS der_id,
				   coalesce((SELECT e.lfdi FROM end_devices e WHERE e.id = d.end_device_id),
							d.lfdi) AS lfdi
			FROM res CROSS JOIN LATERAL (
				SELECT d.* FROM der_resources d
				WHERE d.tenant_id IS NOT DISTINCT FROM NEW.tenant_id
				  AND (d.external_id = res.name
					   OR (d.resource_name = res.name AND d.ven_name IN
						   (SELECT v.ven_name FROM oadr_vens v WHERE v.client_id = NEW.client_id)))
				ORDER BY (d.external_id = res.name) DESC NULLS LAST, d.id LIMIT 1) d),
		pts AS (
			SELECT der.der_id, der.lfdi, p ->> 'type' AS ptype, v.value AS val, v.n,
				   CASE WHEN i.iv ? 'intervalPeriod'
					   THEN oadr_time(i.iv #>> '{intervalPeriod,start}')
					   ELSE oadr_time(der.rperiod ->> 'start')
							+ (i.k - 1) * make_interval(secs =>
								oadr_duration_s(der.rperiod ->> 'duration'))
				   END AS start_at,
				   oadr_duration_s(coalesce(i.iv #>> '{intervalPeriod,duration}',
											der.rperiod ->> 'duration')) AS dur,
				   coalesce(i.iv #>> '{intervalPeriod,start}', der.rperiod ->> 'start') AS start_text
			FROM der
			CROSS JOIN LATERAL jsonb_array_elements(der.intervals) WITH ORDINALITY i(iv, k)
			CROSS JOIN LATERAL jsonb_array_elements(i.iv -> 'payloads') p
			CROSS JOIN LATERAL jsonb_array_elements(p -> 'values') WITH ORDINALITY v(value, n)
			WHERE der.lfdi IS NOT NULL AND jsonb_typeof(v.value) = 'number'
			  AND p ->> 'type' IN ('USAGE', 'DEMAND', 'STORAGE_CHARGE_LEVEL',
								   'STORAGE_USABLE_CAPACITY'))
		SELECT pts.der_id, pts.lfdi, pts.ptype, pts.val::text::float8 AS val,
			   pts.start_at, pts.dur,
			   (SELECT u ->> 'units' FROM jsonb_array_elements(NEW.body -> 'payloadDescriptors') u
				WHERE u ->> 'payloadType' = pts.ptype LIMIT 1) AS units
		FROM pts
		WHERE pts.n = 1 AND pts.start_at IS NOT NULL
		  AND pts.start_text NOT LIKE '0001-01-01%'
	LOOP
		CONTINUE WHEN x.dur IS NULL;
		INSERT INTO mirror_usage_points AS u (mrid, device_lfdi, posted_by, tenant_id, doc)
			VALUES (upper(md5('oadr-der:' || x.der_id)), x.lfdi, x.lfdi, NEW.tenant_id,
					jsonb_build_object('description', 'OpenADR reports', 'der_id', x.der_id))
			ON CONFLICT (mrid) DO UPDATE SET device_lfdi = EXCLUDED.device_lfdi
			RETURNING u.id INTO v_mup;
		INSERT INTO mirror_meter_readings AS m (mup_id, mrid, doc, reading_type)
			SELECT v_mup, upper(md5('oadr-der:' || x.der_id || ':' || x.ptype)),
				   jsonb_build_object('description', x.ptype), t.reading_type
			FROM oadr_reading_type(x.ptype, x.units) t
			ON CONFLICT (mup_id, mrid) DO UPDATE SET reading_type = EXCLUDED.reading_type
			RETURNING m.id INTO v_mmr;
		PERFORM readings_ensure_month(x.start_at);
		INSERT INTO readings AS r (mmr_id, interval_start, duration_s, value)
			SELECT v_mmr, x.start_at, x.dur::int, round(x.val * t.factor)::bigint
			FROM oadr_reading_type(x.ptype, x.units) t WHERE t.factor IS NOT NULL
			ON CONFLICT (mmr_id, interval_start) DO UPDATE
				SET duration_s = EXCLUDED.duration_s, value = EXCLUDED.value,
					received_at = now();
		INSERT INTO oadr_report_readings (mmr_id, interval_start, report_id)
			VALUES (v_mmr, x.start_at, NEW.id)
			ON CONFLICT (mmr_id, interval_start) DO UPDATE SET report_id = EXCLUDED.report_id;
	END LOOP;
	RETURN NULL;
END;
$$;

CREATE TRIGGER oadr_reports_telemetry AFTER INSERT OR UPDATE OR DELETE ON oadr_reports
	FOR EACH ROW EXECUTE FUNCTION oadr_report_telemetry();
