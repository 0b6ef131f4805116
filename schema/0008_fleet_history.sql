--
-- schema/0008_fleet_history.sql
--	  What the fleet needs beyond 0002: the set of EndDevices an
--	  aggregator sees through its enrollments, and the earlier versions
--	  of sites and DERs that an import in upsert mode (or any UPDATE)
--	  replaces.
--
-- NOTES
--	  Applied inside one transaction by server/migrate.c (no BEGIN/COMMIT
--	  here).
--
--	  Visibility.  An aggregator sees an EndDevice that its tenant
--	  registered (end_devices.tenant_id) or whose LFDI belongs to a DER
--	  enrolled, at that instant, in one of the tenant's aggregations.
--	  fleet_enrolled_lfdis(tenant, at) is the second half as one SQL
--	  function, so the IEEE 2030.5 resources (and later OpenADR) share
--	  one definition.  It is a plain STABLE SQL function of one SELECT, so
--	  the planner inlines it: joined to end_devices on lfdi it becomes
--	  index lookups (der_resources_lfdi_key, aggregation_members_der_id_idx,
--	  aggregations' primary key); listed for a tenant it starts from
--	  aggregations_tenant_id_name_key and aggregation_members_window_idx.
--
--	  History of sites and DERs.  Enrollments keep their history in
--	  aggregation_members (never rewritten).  Sites and DERs are updated in
--	  place, and the row as it was before each change is kept in
--	  fleet_row_history with the interval it was current for
--	  [valid_from, valid_to): valid_from is the previous change (or the
--	  row's created_at), valid_to the time of this change.  Rows are only
--	  appended.
--

CREATE FUNCTION fleet_enrolled_lfdis(p_tenant bigint, p_at timestamptz)
RETURNS TABLE (lfdi char(40))
LANGUAGE sql STABLE AS $$
	SELECT d.lfdi
		FROM aggregations g
		JOIN aggregation_members m ON m.aggregation_id = g.id
		JOIN der_resources d ON d.id = m.der_id
		WHERE g.tenant_id = p_tenant
		  AND d.lfdi IS NOT NULL
		  AND m.effective_from <= p_at
		  AND (m.effective_to IS NULL OR m.effective_to > p_at)
$$;

-- the aggregator's own mirrors, the other half of its mirror list
CREATE INDEX mirror_usage_points_tenant_id_idx ON mirror_usage_points (tenant_id);

CREATE TABLE fleet_row_history
(
	id			bigserial PRIMARY KEY,
	table_name	text NOT NULL
		CONSTRAINT fleet_row_history_table_check
		CHECK (table_name IN ('sites', 'der_resources')),
	row_id		bigint NOT NULL,
	valid_from	timestamptz NOT NULL,
	valid_to	timestamptz NOT NULL,
	old_row		jsonb NOT NULL
);

CREATE INDEX fleet_row_history_row_idx
	ON fleet_row_history (table_name, row_id, valid_to);

CREATE FUNCTION fleet_row_history_keep() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	since		timestamptz;
BEGIN
	SELECT max(h.valid_to) INTO since FROM fleet_row_history h
		WHERE h.table_name = TG_TABLE_NAME AND h.row_id = OLD.id;
	INSERT INTO fleet_row_history (table_name, row_id, valid_from, valid_to, old_row)
		VALUES (TG_TABLE_NAME, OLD.id,
				least(coalesce(since, (to_jsonb(OLD) ->> 'created_at')::timestamptz,
							   now()), now()),
				now(), to_jsonb(OLD));
	RETURN NEW;
END;
$$;

CREATE TRIGGER sites_history
	AFTER UPDATE ON sites
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION fleet_row_history_keep();
CREATE TRIGGER der_resources_history
	AFTER UPDATE ON der_resources
	FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION fleet_row_history_keep();

CREATE FUNCTION fleet_row_history_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'fleet row history is never rewritten'
		USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER fleet_row_history_guard
	BEFORE UPDATE OR DELETE ON fleet_row_history
	FOR EACH ROW EXECUTE FUNCTION fleet_row_history_guard();
