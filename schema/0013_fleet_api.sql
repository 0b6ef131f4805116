--
-- schema/0013_fleet_api.sql
--	  Indexes for the aggregators' fleet API (protocols/fleet/aggapi.c):
--	  the latest response of a device to a control, and a DER's status
--	  reports in a time range.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c (no BEGIN/COMMIT
--	  here).  Both tables are append-only, so the indexes only grow.
--
--	  "Last response": der_control_responses is looked up by the device's
--	  LFDI, newest first; its unique key starts with control_id and does
--	  not serve that.  "SoC series": DERStatus reports of one DER with
--	  readingTime in [from, to); der_reports_latest_idx orders by id, not
--	  by time.  Readings need nothing new: their primary key (mmr_id,
--	  interval_start) serves a range per meter reading, in every monthly
--	  partition.
--

CREATE INDEX der_control_responses_device_idx
	ON der_control_responses (end_device_lfdi, received_at DESC, id DESC);

CREATE INDEX der_reports_time_idx
	ON der_reports (der_id, resource, reading_time);
