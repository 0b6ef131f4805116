--
-- schema/0009_notify_outbox.sql
--	  The notification outbox: webhook deliveries (IEEE 2030.5
--	  Notifications, OpenADR 3 subscription callbacks) written in the same
--	  transaction as the change that causes them, and delivered by the
--	  notify workers (server/notify.c).  notify_endpoints remembers which
--	  receivers keep failing.
--
-- NOTES
--	  Enqueue only through notify_enqueue(), which also signals the
--	  channel "dermsd_outbox" so an idle worker wakes at the commit.  It is
--	  SECURITY DEFINER so tenant-scoped sessions (role dermsd_tenant) may
--	  enqueue without seeing the outbox; inside such a session the tenant
--	  must be the session's own (setting dermsd.tenant_id).
--
--	  Life of a row: 'pending' until a worker claims it (SELECT ... FOR
--	  UPDATE SKIP LOCKED, committed at once: attempts + 1, claimed_by =
--	  the worker's backend pid, next_attempt_at pushed out as a lease).
--	  The worker then records the outcome: 'delivered' (a 2xx),
--	  'failed_permanent' (refused by policy, or a 4xx other than 408 and
--	  429), back to 'pending' with a later next_attempt_at (backoff), or
--	  'dead' (attempts or age exhausted).  A row whose claimer's backend
--	  is gone (the worker was killed) is released again by any worker, so
--	  delivery is at least once.  Finished rows are purged after the
--	  configured retention.
--
--	  origin is "scheme://host[:port]" of url, lowercase: the unit in
--	  which receivers are marked dead.  URLs never carry credentials (the
--	  bearer token has its own column).
--

CREATE TABLE notify_outbox
(
	id			bigserial PRIMARY KEY,
	created_at	timestamptz NOT NULL DEFAULT now(),
	kind		text NOT NULL
		CONSTRAINT notify_outbox_kind_check CHECK (kind ~ '^[a-z0-9_]{1,32}$'),
	tenant_id	bigint,
	subscription_ref text NOT NULL
		CONSTRAINT notify_outbox_subscription_ref_check
		CHECK (char_length(subscription_ref) BETWEEN 1 AND 256),
	url			text NOT NULL
		CONSTRAINT notify_outbox_url_check
		CHECK (char_length(url) <= 2048
			   AND url ~* '^https?://[^/?#@[:space:]]+([/?#][^[:space:]]*)?$'),
	origin		text NOT NULL,
	bearer_token text
		CONSTRAINT notify_outbox_bearer_check
		CHECK (char_length(bearer_token) <= 4096 AND bearer_token ~ '^[!-~]+$'),
	content_type text NOT NULL
		CONSTRAINT notify_outbox_content_type_check
		CHECK (content_type ~ '^[!-~][ -~]{0,254}$'),
	body		bytea NOT NULL
		CONSTRAINT notify_outbox_body_check
		CHECK (octet_length(body) <= 16777216),
	state		text NOT NULL DEFAULT 'pending'
		CONSTRAINT notify_outbox_state_check
		CHECK (state IN ('pending', 'delivered', 'dead', 'failed_permanent')),
	attempts	integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	claimed_by	integer,		-- backend pid of the claiming worker
	last_attempt_at timestamptz,
	last_status integer,		-- HTTP status of the last attempt, if any
	last_error	text,
	delivered_at timestamptz,
	finished_at timestamptz,	-- when the state left 'pending'
	CONSTRAINT notify_outbox_finished_check
		CHECK ((state = 'pending') = (finished_at IS NULL))
);

-- the due pending rows, in order
CREATE INDEX notify_outbox_due_idx ON notify_outbox (next_attempt_at)
	WHERE state = 'pending';
-- pending rows per receiver (probing a dead one, holding its rows)
CREATE INDEX notify_outbox_origin_idx ON notify_outbox (origin, id)
	WHERE state = 'pending';
-- claims to check against live backends
CREATE INDEX notify_outbox_claimed_idx ON notify_outbox (claimed_by)
	WHERE claimed_by IS NOT NULL;
-- retention
CREATE INDEX notify_outbox_finished_idx ON notify_outbox (finished_at)
	WHERE state <> 'pending';

CREATE TABLE notify_endpoints
(
	origin		text PRIMARY KEY,
	consecutive_failures integer NOT NULL DEFAULT 0,
	last_failure_at timestamptz,
	last_error	text,
	dead_since	timestamptz,	-- NULL while considered alive
	probe_at	timestamptz,	-- dead: when one delivery may try it again
	CONSTRAINT notify_endpoints_dead_check
		CHECK ((dead_since IS NULL) = (probe_at IS NULL))
);

CREATE FUNCTION notify_origin(p_url text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT
	AS $$ SELECT lower(substring(p_url from '^([A-Za-z]+://[^/?#]*)')) $$;

CREATE FUNCTION notify_enqueue(p_kind text, p_tenant_id bigint,
							   p_subscription_ref text, p_url text,
							   p_bearer_token text, p_content_type text,
							   p_body bytea)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER
	SET search_path = pg_catalog, public
	AS $$
DECLARE
	v_tenant text := current_setting('dermsd.tenant_id', true);
	v_origin	text := notify_origin(p_url);
	v_id		bigint;
BEGIN
	-- SET ROLE survives into a SECURITY DEFINER function as the setting
	IF current_setting('role') = 'dermsd_tenant'
		AND (p_tenant_id IS NULL
			 OR p_tenant_id IS DISTINCT FROM nullif(v_tenant, '')::bigint) THEN
		RAISE EXCEPTION 'notification for tenant % enqueued in a session of tenant %',
			p_tenant_id, v_tenant
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- a receiver marked dead gets the row at its next probe
	INSERT INTO notify_outbox (kind, tenant_id, subscription_ref, url, origin,
							   bearer_token, content_type, body,
							   next_attempt_at)
		VALUES (p_kind, p_tenant_id, p_subscription_ref, p_url, v_origin,
				p_bearer_token, p_content_type, p_body,
				greatest(now(), (SELECT e.probe_at FROM notify_endpoints e
								 WHERE e.origin = v_origin)))
		RETURNING id INTO v_id;
	PERFORM pg_notify('dermsd_outbox', '');
	RETURN v_id;
END;
$$;

-- The same with a text body (stored as its UTF-8 bytes).
CREATE FUNCTION notify_enqueue(p_kind text, p_tenant_id bigint,
							   p_subscription_ref text, p_url text,
							   p_bearer_token text, p_content_type text,
							   p_body text)
	RETURNS bigint
	LANGUAGE sql VOLATILE
	AS $$ SELECT notify_enqueue(p_kind, p_tenant_id, p_subscription_ref, p_url,
								p_bearer_token, p_content_type,
								convert_to(p_body, 'UTF8')) $$;

GRANT EXECUTE ON FUNCTION
	notify_enqueue(text, bigint, text, text, text, text, bytea),
	notify_enqueue(text, bigint, text, text, text, text, text)
	TO dermsd_tenant;
