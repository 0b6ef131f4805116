--
-- schema/0007_post_rate.sql
--	  Per-device IEEE 2030.5 postRate (how often an EndDevice posts its
--	  telemetry), overriding the sep2.post_rate_s setting when set.
--
ALTER TABLE end_devices
	ADD COLUMN post_rate integer
		CONSTRAINT end_devices_post_rate_check CHECK (post_rate > 0);
