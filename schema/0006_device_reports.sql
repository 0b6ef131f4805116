--
-- schema/0006_device_reports.sql
--	  What IEEE 2030.5 EndDevices report about themselves: DeviceInformation,
--	  DeviceStatus and PowerStatus (kept with history, latest served), and
--	  their LogEvents.
--
-- NOTES
--	  Append-only like der_reports; doc holds the accepted elements as
--	  canonical text.  A LogEvent is kept once per (device, logEventID,
--	  createdDateTime), so a retried POST adds nothing.
--

CREATE TABLE end_device_reports
(
	id			bigserial PRIMARY KEY,
	end_device_id bigint NOT NULL REFERENCES end_devices (id),
	resource	text NOT NULL
		CONSTRAINT end_device_reports_resource_check
		CHECK (resource IN ('information', 'status', 'power')),
	received_at timestamptz NOT NULL DEFAULT now(),
	doc			jsonb NOT NULL
);

CREATE INDEX end_device_reports_latest_idx ON end_device_reports (end_device_id, resource, id DESC);

CREATE FUNCTION append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER end_device_reports_no_update BEFORE UPDATE OR DELETE ON end_device_reports
	FOR EACH ROW EXECUTE FUNCTION append_only();

CREATE TABLE log_events
(
	id			bigserial PRIMARY KEY,
	end_device_id bigint NOT NULL REFERENCES end_devices (id),
	created_time bigint NOT NULL,
	log_event_id integer NOT NULL,
	doc			jsonb NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (end_device_id, log_event_id, created_time)
);

CREATE TRIGGER log_events_no_update BEFORE UPDATE OR DELETE ON log_events
	FOR EACH ROW EXECUTE FUNCTION append_only();
