--
-- schema/0015_openadr_mqtt.sql
--	  The OpenADR MQTT notifier binding: outbox rows that are MQTT
--	  publications, and the broker credentials of VTN clients.
--
-- NOTES
--	  An MQTT publication is a notify_outbox row of kind 'mqtt' whose url
--	  is "mqtt:///" followed by the topic (no wildcards) and whose body is
--	  the notification JSON; the notify role publishes it with QoS 1
--	  (server/notify_mqtt.c).  Rows of every other kind keep the http(s)
--	  rule of 0009.
--
--	  vtn_mqtt_clients holds the client certificate and key a client uses
--	  at the broker (CN = client_id; the broker takes the CN as the MQTT
--	  username).  "dermsctl vtn mqtt sync" issues them and writes the
--	  broker's ACL from this table; GET /notifiers hands a client its own
--	  (the CERTIFICATE method of the YAML carries the key).  Tenant
--	  sessions (dermsd_tenant) get no access.
--
ALTER TABLE notify_outbox DROP CONSTRAINT notify_outbox_url_check;
ALTER TABLE notify_outbox ADD CONSTRAINT notify_outbox_url_check
	CHECK (char_length(url) <= 2048
		   AND (url ~* '^https?://[^/?#@[:space:]]+([/?#][^[:space:]]*)?$'
				OR (kind = 'mqtt'
					AND url ~ '^mqtt:///[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$')));

CREATE TABLE vtn_mqtt_clients
(
	client_id	text PRIMARY KEY REFERENCES vtn_clients (client_id) ON DELETE CASCADE,
	cert_pem	text NOT NULL,
	key_pem		text NOT NULL,
	issued_at	timestamptz NOT NULL DEFAULT now()
);
