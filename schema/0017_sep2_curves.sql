--
-- schema/0017_sep2_curves.sql
--	  IEEE 2030.5 DER curves (DERCurve, served under a DER program) and the
--	  check that a DERControl's curve-based modes name curves of its own
--	  program with the matching curve type.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c.
--	  A curve belongs to one program and is never updated or deleted once
--	  a control may point at it (append-only, like controls): a changed
--	  curve is a new curve.  curve_type is sep.xsd's DERCurveType (0
--	  opModFreqWatt .. 14 opModWattVar); points is the CurveData as
--	  [{"x": int, "y": int[, "excitation": bool]}, ...] in x order; doc
--	  holds the optional elements (rampTms ..., vRef) as canonical text,
--	  like der_reports.
--	  der_controls.base and der_programs.default_base name a curve as
--	  "opModVoltVar": "<curve id>" (protocols/sep2/curve.c); the trigger
--	  below refuses a control whose curve is missing, of another program,
--	  or of another type, whichever front end (operator API, dermsctl)
--	  wrote it.  The SQLSTATE is foreign_key_violation, so the API
--	  answers 400 with the message.
--

CREATE TABLE der_curves
(
	id			bigserial PRIMARY KEY,
	program_id	bigint NOT NULL REFERENCES der_programs (id),
	mrid		text NOT NULL UNIQUE
		CONSTRAINT der_curves_mrid_check CHECK (mrid ~ '^[0-9A-F]{32}$'),
	curve_type	smallint NOT NULL
		CONSTRAINT der_curves_type_check CHECK (curve_type BETWEEN 0 AND 14),
	x_multiplier smallint NOT NULL
		CONSTRAINT der_curves_xmult_check CHECK (x_multiplier BETWEEN -9 AND 9),
	y_multiplier smallint NOT NULL
		CONSTRAINT der_curves_ymult_check CHECK (y_multiplier BETWEEN -9 AND 9),
	y_ref_type	smallint NOT NULL
		CONSTRAINT der_curves_yref_check CHECK (y_ref_type BETWEEN 0 AND 7),
	points		jsonb NOT NULL
		CONSTRAINT der_curves_points_check
		CHECK (jsonb_typeof(points) = 'array'
			   AND jsonb_array_length(points) BETWEEN 1 AND 10),
	doc			jsonb NOT NULL DEFAULT '{}',
	creation_time timestamptz NOT NULL DEFAULT now(),
	created_by	text NOT NULL
);

CREATE INDEX der_curves_program_idx ON der_curves (program_id, id);

CREATE TRIGGER der_curves_no_update BEFORE UPDATE OR DELETE ON der_curves
	FOR EACH ROW EXECUTE FUNCTION append_only();

-- curve-based DERControlBase elements and the DERCurveType each needs
CREATE FUNCTION der_curve_mode_type(mode text) RETURNS smallint
LANGUAGE sql IMMUTABLE AS $$
	SELECT CASE mode
		WHEN 'opModFreqWatt' THEN 0 WHEN 'opModHFRTMayTrip' THEN 1
		WHEN 'opModHFRTMustTrip' THEN 2 WHEN 'opModHVRTMayTrip' THEN 3
		WHEN 'opModHVRTMomentaryCessation' THEN 4 WHEN 'opModHVRTMustTrip' THEN 5
		WHEN 'opModLFRTMayTrip' THEN 6 WHEN 'opModLFRTMustTrip' THEN 7
		WHEN 'opModLVRTMayTrip' THEN 8 WHEN 'opModLVRTMomentaryCessation' THEN 9
		WHEN 'opModLVRTMustTrip' THEN 10 WHEN 'opModVoltVar' THEN 11
		WHEN 'opModVoltWatt' THEN 12 WHEN 'opModWattPF' THEN 13
		WHEN 'opModWattVar' THEN 14 END::smallint
$$;

CREATE FUNCTION der_controls_check_curves() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	b		jsonb;
	prog	bigint;
	k		text;
	v		jsonb;
	want	smallint;
	got		der_curves%ROWTYPE;
BEGIN
	IF TG_TABLE_NAME = 'der_controls' THEN
		b := NEW.base;
		prog := NEW.program_id;
	ELSE
		b := NEW.default_base;
		prog := NEW.id;
	END IF;
	IF b IS NULL THEN
		RETURN NEW;
	END IF;
	FOR k, v IN SELECT * FROM jsonb_each(b) LOOP
		want := der_curve_mode_type(k);
		CONTINUE WHEN want IS NULL;
		SELECT * INTO got FROM der_curves c
			WHERE c.id = (v #>> '{}')::bigint;
		IF NOT FOUND OR got.program_id <> prog THEN
			RAISE EXCEPTION '% names curve %, which is not a curve of program %',
				k, v #>> '{}', prog
				USING ERRCODE = 'foreign_key_violation';
		END IF;
		IF got.curve_type <> want THEN
			RAISE EXCEPTION '% needs a curve of type %, curve % is of type %',
				k, want, got.id, got.curve_type
				USING ERRCODE = 'foreign_key_violation';
		END IF;
	END LOOP;
	RETURN NEW;
END;
$$;

CREATE TRIGGER der_controls_curves BEFORE INSERT ON der_controls
	FOR EACH ROW EXECUTE FUNCTION der_controls_check_curves();
CREATE TRIGGER der_programs_curves BEFORE INSERT OR UPDATE OF default_base ON der_programs
	FOR EACH ROW EXECUTE FUNCTION der_controls_check_curves();
