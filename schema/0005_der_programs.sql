--
-- schema/0005_der_programs.sql
--	  IEEE 2030.5 DER programs and their controls (events), the scope each
--	  program applies to, and the responses devices post to controls.
--
-- NOTES
--	  A program applies to every device ('all'), an aggregator's fleet
--	  ('tenant'), the devices whose DERs are in an aggregation now
--	  ('aggregation'), or one EndDevice ('end_device').  Controls are never
--	  deleted: cancelling sets cancelled_at, and event status (scheduled,
--	  active, cancelled, superseded) is derived from the rows and the clock
--	  when served.  base holds the DERControlBase elements as canonical text
--	  (element -> text, or -> object of child -> text), like der_reports.
--

CREATE TABLE der_programs
(
	id			bigserial PRIMARY KEY,
	mrid		text NOT NULL UNIQUE
		CONSTRAINT der_programs_mrid_check CHECK (mrid ~ '^[0-9A-F]{32}$'),
	description text CONSTRAINT der_programs_description_check
		CHECK (char_length(description) <= 32),
	primacy		smallint NOT NULL CONSTRAINT der_programs_primacy_check
		CHECK (primacy BETWEEN 0 AND 255),
	scope_kind	text NOT NULL CONSTRAINT der_programs_scope_check
		CHECK (scope_kind IN ('all', 'tenant', 'aggregation', 'end_device')),
	scope_id	bigint,
	default_base jsonb,			-- DefaultDERControl's DERControlBase, if any
	created_by	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT der_programs_scope_id_check
		CHECK ((scope_kind = 'all') = (scope_id IS NULL))
);

CREATE TABLE der_controls
(
	id			bigserial PRIMARY KEY,
	program_id	bigint NOT NULL REFERENCES der_programs (id),
	mrid		text NOT NULL UNIQUE
		CONSTRAINT der_controls_mrid_check CHECK (mrid ~ '^[0-9A-F]{32}$'),
	description text CONSTRAINT der_controls_description_check
		CHECK (char_length(description) <= 32),
	creation_time timestamptz NOT NULL DEFAULT now(),
	start_time	bigint NOT NULL CONSTRAINT der_controls_start_check CHECK (start_time >= 0),
	duration_s	integer NOT NULL CONSTRAINT der_controls_duration_check CHECK (duration_s > 0),
	randomize_start integer CONSTRAINT der_controls_rs_check
		CHECK (randomize_start BETWEEN -3600 AND 3600),
	randomize_duration integer CONSTRAINT der_controls_rd_check
		CHECK (randomize_duration BETWEEN -3600 AND 3600),
	base		jsonb NOT NULL,
	cancelled_at timestamptz,
	created_by	text NOT NULL
);

CREATE INDEX der_controls_program_idx ON der_controls (program_id, start_time);

CREATE TABLE der_control_responses
(
	id			bigserial PRIMARY KEY,
	control_id	bigint NOT NULL REFERENCES der_controls (id),
	end_device_lfdi char(40) NOT NULL,
	status		smallint NOT NULL,
	created_time bigint,		-- createdDateTime as the device sent it
	received_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (control_id, end_device_lfdi, status)
);
