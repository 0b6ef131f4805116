--
-- schema/0001_init.sql
--	  Base tables: tenants, certificates, end devices, DER resources,
--	  aggregations, the readiness probe and the hash-chained audit log.
--
-- NOTES
--	  Applied by server/migrate.c inside one transaction; this file has no
--	  BEGIN/COMMIT of its own and must never be edited once released (the
--	  runner refuses a changed checksum): change the schema in a new file.
--	  Table and column names are a contract the C code is written against.
--
--	  audit_log is append-only.  Every row carries prev_hash (the previous
--	  row's hash, 32 zero bytes for the first) and
--	    hash = sha256(prev_hash || audit_encode(id, at, actor, action,
--	                                            object, detail))
--	  where audit_encode concatenates each field as "<octets>:<utf-8>" (or
--	  "-1:" for NULL), with id in decimal, at as UTC
--	  "YYYY-MM-DDTHH:MI:SS.USZ" and detail as jsonb's normalized text.
--	  The BEFORE INSERT trigger serializes appenders on the one-row
--	  audit_head table, and assigns id and at itself after taking that lock,
--	  so id order is chain order even when appenders race.  audit_verify()
--	  walks the chain in id order (ids may have gaps from rolled-back
--	  appends).
--

CREATE TABLE tenants
(
	id			bigserial PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	kind		text NOT NULL
		CONSTRAINT tenants_kind_check CHECK (kind IN ('utility', 'aggregator')),
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- X.509 certificates we have seen or issued, keyed by the SHA-256 of the
-- DER encoding.  lfdi is the IEEE 2030.5 LFDI (leftmost 160 bits of that
-- hash, upper-case hex); sfdi the short form derived from it.
CREATE TABLE certificates
(
	id			bigserial PRIMARY KEY,
	fingerprint	char(64) NOT NULL UNIQUE
		CONSTRAINT certificates_fingerprint_check
		CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
	lfdi		char(40) NOT NULL
		CONSTRAINT certificates_lfdi_check CHECK (lfdi ~ '^[0-9A-F]{40}$'),
	sfdi		bigint NOT NULL
		CONSTRAINT certificates_sfdi_check CHECK (sfdi >= 0),
	role		text NOT NULL
		CONSTRAINT certificates_role_check
		CHECK (role IN ('device', 'aggregator', 'operator')),
	tenant_id	bigint REFERENCES tenants (id),
	subject		text,
	not_after	timestamptz,
	revoked		boolean NOT NULL DEFAULT false,
	revoked_at	timestamptz,
	revoked_reason text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT certificates_revoked_at_check
		CHECK (NOT revoked OR revoked_at IS NOT NULL)
);

CREATE INDEX certificates_lfdi_idx ON certificates (lfdi);
CREATE INDEX certificates_tenant_id_idx ON certificates (tenant_id);

-- Keeps changed_at current on tables that have one.
CREATE FUNCTION set_changed_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.changed_at := now();
	RETURN NEW;
END;
$$;

CREATE TABLE end_devices
(
	id			bigserial PRIMARY KEY,
	lfdi		char(40) NOT NULL UNIQUE
		CONSTRAINT end_devices_lfdi_check CHECK (lfdi ~ '^[0-9A-F]{40}$'),
	sfdi		bigint NOT NULL
		CONSTRAINT end_devices_sfdi_check CHECK (sfdi >= 0),
	tenant_id	bigint REFERENCES tenants (id),
	registration_pin integer
		CONSTRAINT end_devices_registration_pin_check
		CHECK (registration_pin BETWEEN 0 AND 999999),
	enabled		boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT now(),
	changed_at	timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX end_devices_sfdi_idx ON end_devices (sfdi);
CREATE INDEX end_devices_tenant_id_idx ON end_devices (tenant_id);

CREATE TRIGGER end_devices_changed_at
	BEFORE UPDATE ON end_devices
	FOR EACH ROW EXECUTE FUNCTION set_changed_at();

-- Power in W or VA, energy in Wh.  Efficiencies are fractions in (0, 1].
CREATE TABLE der_resources
(
	id			bigserial PRIMARY KEY,
	end_device_id bigint REFERENCES end_devices (id) ON DELETE RESTRICT,
	kind		text NOT NULL
		CONSTRAINT der_resources_kind_check
		CHECK (kind IN ('pv', 'battery', 'ev_charger', 'flexible_load',
						'generator')),
	name		text,
	rated_w		double precision
		CONSTRAINT der_resources_rated_w_check CHECK (rated_w >= 0),
	rated_va	double precision
		CONSTRAINT der_resources_rated_va_check CHECK (rated_va >= 0),
	rated_wh	double precision
		CONSTRAINT der_resources_rated_wh_check CHECK (rated_wh >= 0),
	max_charge_w double precision
		CONSTRAINT der_resources_max_charge_w_check CHECK (max_charge_w >= 0),
	max_discharge_w double precision
		CONSTRAINT der_resources_max_discharge_w_check
		CHECK (max_discharge_w >= 0),
	charge_efficiency double precision
		CONSTRAINT der_resources_charge_efficiency_check
		CHECK (charge_efficiency > 0 AND charge_efficiency <= 1),
	discharge_efficiency double precision
		CONSTRAINT der_resources_discharge_efficiency_check
		CHECK (discharge_efficiency > 0 AND discharge_efficiency <= 1),
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT der_resources_charge_rating_check
		CHECK (max_charge_w IS NULL OR rated_w IS NULL
			   OR max_charge_w <= rated_w),
	CONSTRAINT der_resources_discharge_rating_check
		CHECK (max_discharge_w IS NULL OR rated_w IS NULL
			   OR max_discharge_w <= rated_w)
);

CREATE INDEX der_resources_end_device_id_idx ON der_resources (end_device_id);

CREATE TABLE aggregations
(
	id			bigserial PRIMARY KEY,
	tenant_id	bigint NOT NULL REFERENCES tenants (id),
	name		text NOT NULL,
	iso			text,
	iso_resource_id text,
	pricing_node text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT aggregations_tenant_id_name_key UNIQUE (tenant_id, name)
);

-- Membership over time: [effective_from, effective_to), open-ended when
-- effective_to is NULL.
CREATE TABLE aggregation_members
(
	aggregation_id bigint NOT NULL REFERENCES aggregations (id),
	der_id		bigint NOT NULL REFERENCES der_resources (id),
	effective_from timestamptz NOT NULL,
	effective_to timestamptz,
	PRIMARY KEY (aggregation_id, der_id, effective_from),
	CONSTRAINT aggregation_members_effective_check
		CHECK (effective_to IS NULL OR effective_to > effective_from)
);

CREATE INDEX aggregation_members_der_id_idx ON aggregation_members (der_id);

-- One row per writer; the readiness check upserts its row to prove the
-- database accepts writes:
--	 INSERT INTO health_probe (id, at) VALUES ($1, now())
--	 ON CONFLICT (id) DO UPDATE SET at = now()
CREATE TABLE health_probe
(
	id			integer PRIMARY KEY,
	at			timestamptz NOT NULL
);

-- ---------------------------------------------------------------------
-- Audit log
-- ---------------------------------------------------------------------

CREATE TABLE audit_log
(
	id			bigserial PRIMARY KEY,
	at			timestamptz NOT NULL DEFAULT clock_timestamp(),
	actor		text NOT NULL,
	action		text NOT NULL,
	object		text,
	detail		jsonb,
	prev_hash	bytea NOT NULL,
	hash		bytea NOT NULL
);

-- The end of the chain.  Locking this row serializes appenders.
CREATE TABLE audit_head
(
	id			integer PRIMARY KEY
		CONSTRAINT audit_head_one_row CHECK (id = 1),
	last_id		bigint,
	last_hash	bytea NOT NULL
);

INSERT INTO audit_head (id, last_id, last_hash)
	VALUES (1, NULL, '\x0000000000000000000000000000000000000000000000000000000000000000');

-- One field of the canonical encoding: "<octets>:<utf-8 bytes>", "-1:" for
-- NULL.  The length prefix keeps field boundaries unambiguous.
CREATE FUNCTION audit_field(v text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE
		WHEN v IS NULL THEN convert_to('-1:', 'UTF8')
		ELSE convert_to(octet_length(convert_to(v, 'UTF8'))::text || ':', 'UTF8')
			 || convert_to(v, 'UTF8')
	END
$$;

-- The canonical encoding of a row's content; independent of the session's
-- TimeZone and DateStyle.
CREATE FUNCTION audit_encode(p_id bigint, p_at timestamptz, p_actor text,
							 p_action text, p_object text, p_detail jsonb)
RETURNS bytea
LANGUAGE sql STABLE AS $$
	SELECT audit_field(p_id::text)
		|| audit_field(to_char(p_at AT TIME ZONE 'UTC',
							   'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
		|| audit_field(p_actor)
		|| audit_field(p_action)
		|| audit_field(p_object)
		|| audit_field(p_detail::text)
$$;

CREATE FUNCTION audit_hash(p_prev bytea, p_id bigint, p_at timestamptz,
						   p_actor text, p_action text, p_object text,
						   p_detail jsonb)
RETURNS bytea
LANGUAGE sql STABLE AS $$
	SELECT sha256(p_prev || audit_encode(p_id, p_at, p_actor, p_action,
										 p_object, p_detail))
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
	head		audit_head%ROWTYPE;
BEGIN
	SELECT * INTO head FROM audit_head WHERE id = 1 FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'audit_head row is missing';
	END IF;

	-- The default id and at were taken before we held the lock; a racing
	-- appender may have chained a later id first.  Take fresh ones so id
	-- and time order match chain order.
	IF NEW.id IS NULL OR (head.last_id IS NOT NULL AND NEW.id <= head.last_id) THEN
		NEW.id := nextval(pg_get_serial_sequence('audit_log', 'id'));
	END IF;
	NEW.at := clock_timestamp();
	NEW.prev_hash := head.last_hash;
	NEW.hash := audit_hash(NEW.prev_hash, NEW.id, NEW.at, NEW.actor,
						   NEW.action, NEW.object, NEW.detail);

	UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash WHERE id = 1;
	RETURN NEW;
END;
$$;

CREATE FUNCTION audit_log_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only'
		USING ERRCODE = 'insufficient_privilege',
			  HINT = 'audit rows are added with audit_append() and never changed';
END;
$$;

CREATE TRIGGER audit_log_chain
	BEFORE INSERT ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

CREATE TRIGGER audit_log_no_change
	BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();

CREATE TRIGGER audit_log_no_truncate
	BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- The head only moves forward, through audit_log_chain().
CREATE TRIGGER audit_head_no_delete
	BEFORE DELETE ON audit_head
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();

CREATE TRIGGER audit_head_no_truncate
	BEFORE TRUNCATE ON audit_head
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- Append one event; returns its id.
CREATE FUNCTION audit_append(p_actor text, p_action text, p_object text,
							 p_detail jsonb)
RETURNS bigint
LANGUAGE sql
SET search_path FROM CURRENT AS $$
	INSERT INTO audit_log (actor, action, object, detail)
		VALUES (p_actor, p_action, p_object, p_detail)
		RETURNING id
$$;

-- Recompute the chain.  Returns the id of the first row whose prev_hash or
-- hash does not match, or NULL when the chain is intact.  If every row
-- matches but the head records a later row than the last one present
-- (rows were removed from the end), returns the id the head records.
CREATE FUNCTION audit_verify() RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path FROM CURRENT AS $$
DECLARE
	r			record;
	prev		bytea := '\x0000000000000000000000000000000000000000000000000000000000000000';
	last_seen	bigint;
	head		audit_head%ROWTYPE;
BEGIN
	FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
		IF r.prev_hash IS DISTINCT FROM prev
			OR r.hash IS DISTINCT FROM audit_hash(r.prev_hash, r.id, r.at,
												  r.actor, r.action,
												  r.object, r.detail) THEN
			RETURN r.id;
		END IF;
		prev := r.hash;
		last_seen := r.id;
	END LOOP;

	SELECT * INTO head FROM audit_head WHERE id = 1;
	IF NOT FOUND OR head.last_hash IS DISTINCT FROM prev
		OR head.last_id IS DISTINCT FROM last_seen THEN
		RETURN coalesce(head.last_id, 0);
	END IF;
	RETURN NULL;
END;
$$;
