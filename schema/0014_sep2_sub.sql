--
-- schema/0014_sep2_sub.sql
--	  IEEE 2030.5 subscriptions (/edev/{id}/sub): which resource of an
--	  EndDevice a client wants Notifications about, where to POST them, and
--	  who asked, so that each Notification is rendered with the
--	  subscriber's own view of the resource (protocols/sep2/sub.c).
--
-- NOTES
--	  kind names the subscribable resource (edev, fsa, derp, derc, dderc);
--	  program_id is set for the kinds under one DER program (derc, dderc),
--	  so a change to a program's controls finds its subscriptions by index.
--	  subscribed_resource is the normalised path (no scheme, host or query).
--	  base_uri ("https://host[:port]", from the Host the subscriber used)
--	  makes the absolute subscriptionURI a Notification carries.
--	  caller_* is the identity of the subscriber (a device or the
--	  aggregator that registered it): a Notification shows what that
--	  caller may read, and nothing when it no longer may.
--	  sep2_sub_settings holds the one row of settings: the most
--	  subscriptions one EndDevice may hold (UPDATE it; no restart needed).
--

CREATE TABLE sep2_sub_settings
(
	only_row	boolean PRIMARY KEY DEFAULT true
		CONSTRAINT sep2_sub_settings_one_row CHECK (only_row),
	max_per_device integer NOT NULL DEFAULT 16
		CONSTRAINT sep2_sub_settings_max_check
		CHECK (max_per_device BETWEEN 0 AND 1000)
);

INSERT INTO sep2_sub_settings DEFAULT VALUES;

CREATE TABLE sep2_subscriptions
(
	id			bigserial PRIMARY KEY,
	end_device_id bigint NOT NULL REFERENCES end_devices (id) ON DELETE CASCADE,
	kind		text NOT NULL
		CONSTRAINT sep2_subscriptions_kind_check
		CHECK (kind IN ('edev', 'fsa', 'derp', 'derc', 'dderc')),
	program_id	bigint REFERENCES der_programs (id),
	subscribed_resource text NOT NULL
		CONSTRAINT sep2_subscriptions_resource_check
		CHECK (subscribed_resource ~ '^(/[A-Za-z0-9]+)+$'),
	encoding	smallint NOT NULL DEFAULT 0
		CONSTRAINT sep2_subscriptions_encoding_check CHECK (encoding = 0),
	level		text NOT NULL
		CONSTRAINT sep2_subscriptions_level_check
		CHECK (char_length(level) BETWEEN 1 AND 16),
	lim			bigint NOT NULL
		CONSTRAINT sep2_subscriptions_limit_check
		CHECK (lim BETWEEN 0 AND 4294967295),
	notification_uri text NOT NULL
		CONSTRAINT sep2_subscriptions_uri_check
		CHECK (char_length(notification_uri) <= 2048
			   AND notification_uri ~* '^https://[^/?#@[:space:]]+([/?#][^[:space:]]*)?$'),
	base_uri	text NOT NULL
		CONSTRAINT sep2_subscriptions_base_check
		CHECK (base_uri ~ '^https://[A-Za-z0-9.:\[\]-]{1,255}$'),
	caller_role text NOT NULL
		CONSTRAINT sep2_subscriptions_role_check
		CHECK (caller_role IN ('device', 'aggregator')),
	caller_lfdi char(40) NOT NULL,
	caller_tenant bigint,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT sep2_subscriptions_program_check
		CHECK ((kind IN ('derc', 'dderc')) = (program_id IS NOT NULL))
);

CREATE INDEX sep2_subscriptions_edev_idx ON sep2_subscriptions (end_device_id, id);
CREATE INDEX sep2_subscriptions_program_idx ON sep2_subscriptions (program_id, kind)
	WHERE program_id IS NOT NULL;
CREATE INDEX sep2_subscriptions_kind_idx ON sep2_subscriptions (kind, end_device_id);
