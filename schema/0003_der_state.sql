--
-- schema/0003_der_state.sql
--	  What IEEE 2030.5 devices report about their DERs: DERCapability,
--	  DERSettings, DERStatus and DERAvailability, kept with history.
--
-- NOTES
--	  Append-only: every PUT adds a row, nothing is updated, so the fleet
--	  state at any past instant can be read back (settlement and dispute
--	  work need it).  doc holds the validated elements as jsonb (element
--	  name -> text, or -> object of child element -> text), exactly as the
--	  server will serve them again.  der_state_current is what dispatch
--	  reads: the latest report of each kind per DER.
--

CREATE TABLE der_reports
(
	id			bigserial PRIMARY KEY,
	der_id		bigint NOT NULL REFERENCES der_resources (id),
	resource	text NOT NULL
		CONSTRAINT der_reports_resource_check
		CHECK (resource IN ('capability', 'settings', 'status', 'availability')),
	received_at timestamptz NOT NULL DEFAULT now(),
	reading_time timestamptz,	-- readingTime / updatedTime as the device sent it
	doc			jsonb NOT NULL
);

CREATE INDEX der_reports_latest_idx ON der_reports (der_id, resource, id DESC);

CREATE FUNCTION der_reports_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'der_reports is append-only';
END;
$$;

CREATE TRIGGER der_reports_no_update BEFORE UPDATE OR DELETE ON der_reports
	FOR EACH ROW EXECUTE FUNCTION der_reports_append_only();

CREATE VIEW der_state_current AS
	SELECT DISTINCT ON (der_id, resource)
		der_id, resource, received_at, reading_time, doc
	FROM der_reports
	ORDER BY der_id, resource, id DESC;
