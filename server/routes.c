/*
 * server/routes.c
 *	  The route table: every resource of every listener, as data.
 *
 * NOTES
 *	  The HTTP core checks method, caller role, request content type and
 *	  body size from this table before a handler runs.  Rows are grouped by
 *	  listener; tests/server/test_http.c walks the table for duplicates,
 *	  missing handlers and invalid roles.  This file is where server/ meets
 *	  the protocol modules, as nginx's module list does.
 */
#include "http.h"

#include "admin.h"
#include "protocols/fleet/aggapi.h"
#include "protocols/fleet/api.h"
#include "protocols/fleet/statements.h"
#include "protocols/grid/api.h"
#include "protocols/grid/worker.h"
#include "protocols/openadr/api.h"
#include "protocols/openadr/auth.h"
#include "protocols/openadr/grid.h"
#include "protocols/openadr/notifiers.h"
#include "protocols/sep2/curve.h"
#include "protocols/sep2/dcap.h"
#include "protocols/sep2/der.h"
#include "protocols/sep2/derp.h"
#include "protocols/sep2/devstat.h"
#include "protocols/sep2/edev.h"
#include "protocols/sep2/mup.h"
#include "protocols/sep2/sdev.h"
#include "protocols/sep2/sub.h"
#include "protocols/sep2/tm.h"
#include "protocols/sep2/upt.h"

#define CERT HTTP_ROLE_ALL_CERT
#define ANON HTTP_ROLE_ANON
#define OADR HTTP_ROLE_ALL_TOKEN
/* what a device reports about its DERs: the device or its aggregator */
#define DEVPUT (HTTP_ROLE_DEVICE | HTTP_ROLE_AGGREGATOR)

const http_route http_routes[] = {
	/* IEEE 2030.5 */
	{HTTP_SEP2, "GET", "/dcap", sep2_dcap_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/tm", sep2_tm_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev", sep2_edev_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "POST", "/edev", sep2_edev_list_post, CERT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}", sep2_edev_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/rg", sep2_edev_rg_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/der", sep2_der_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/der/{der}", sep2_der_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/der/{der}/dercap", sep2_der_doc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "PUT", "/edev/{id}/der/{der}/dercap", sep2_der_doc_put, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/der/{der}/derg", sep2_der_doc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "PUT", "/edev/{id}/der/{der}/derg", sep2_der_doc_put, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/der/{der}/ders", sep2_der_doc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "PUT", "/edev/{id}/der/{der}/ders", sep2_der_doc_put, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/der/{der}/dera", sep2_der_doc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "PUT", "/edev/{id}/der/{der}/dera", sep2_der_doc_put, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/di", sep2_devdoc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "PUT", "/edev/{id}/di", sep2_devdoc_put, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/dstat", sep2_devdoc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "PUT", "/edev/{id}/dstat", sep2_devdoc_put, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/ps", sep2_devdoc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "PUT", "/edev/{id}/ps", sep2_devdoc_put, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/lel", sep2_lel_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "POST", "/edev/{id}/lel", sep2_lel_post, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/fsa", sep2_fsa_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/fsa/{fsa}", sep2_fsa_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp", sep2_derp_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp/{p}", sep2_derp_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp/{p}/derc", sep2_derc_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp/{p}/actderc", sep2_derc_active_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp/{p}/derc/{c}", sep2_derc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp/{p}/dderc", sep2_dderc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp/{p}/dc", sep2_dc_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/derp/{p}/dc/{c}", sep2_dc_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "POST", "/edev/{id}/rsp", sep2_rsp_post, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/sub", sep2_sub_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "POST", "/edev/{id}/sub", sep2_sub_list_post, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/edev/{id}/sub/{s}", sep2_sub_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "DELETE", "/edev/{id}/sub/{s}", sep2_sub_delete, DEVPUT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/mup", sep2_mup_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "POST", "/mup", sep2_mup_list_post, CERT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/mup/{id}", sep2_mup_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "POST", "/mup/{id}", sep2_mup_post, DEVPUT, HTTP_CT_SEP2_XML, 0},
	{HTTP_SEP2, "GET", "/upt", sep2_upt_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}", sep2_upt_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr", sep2_upt_mr_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr/{m}", sep2_upt_mr_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr/{m}/rt", sep2_upt_rt_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr/{m}/r", sep2_upt_latest_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr/{m}/rs", sep2_upt_rs_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr/{m}/rs/{s}", sep2_upt_rs_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr/{m}/rs/{s}/r", sep2_upt_r_list_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/upt/{id}/mr/{m}/rs/{s}/r/{t}", sep2_upt_r_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/sdev", sep2_sdev_get, CERT, HTTP_CT_NONE, 0},
	{HTTP_SEP2, "GET", "/sdev/di", sep2_sdev_di_get, CERT, HTTP_CT_NONE, 0},

	/* OpenADR 3.1 VTN: OAuth2 client credentials */
	{HTTP_VTN, "POST", "/auth/token", vtn_auth_token_post, ANON, HTTP_CT_FORM, 0},
	{HTTP_VTN, "GET", "/auth/server", vtn_auth_server_get, ANON, HTTP_CT_NONE, 0},

	/* OpenADR 3.1 VTN: the object API (bearer tokens; scopes checked by the handlers) */
	{HTTP_VTN, "GET", "/programs", oadr_programs_search, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/programs", oadr_programs_create, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/programs/{programID}", oadr_programs_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "PUT", "/programs/{programID}", oadr_programs_update, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "DELETE", "/programs/{programID}", oadr_programs_delete, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/events", oadr_events_search, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/events", oadr_events_create, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/events/{eventID}", oadr_events_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "PUT", "/events/{eventID}", oadr_events_update, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "DELETE", "/events/{eventID}", oadr_events_delete, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/reports", oadr_reports_search, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/reports", oadr_reports_create, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/reports/{reportID}", oadr_reports_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "PUT", "/reports/{reportID}", oadr_reports_update, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "DELETE", "/reports/{reportID}", oadr_reports_delete, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/subscriptions", oadr_subscriptions_search, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/subscriptions", oadr_subscriptions_create, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/subscriptions/{subscriptionID}", oadr_subscriptions_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "PUT", "/subscriptions/{subscriptionID}", oadr_subscriptions_update, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "DELETE", "/subscriptions/{subscriptionID}", oadr_subscriptions_delete, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/vens", oadr_vens_search, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/vens", oadr_vens_create, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/vens/{venID}", oadr_vens_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "PUT", "/vens/{venID}", oadr_vens_update, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "DELETE", "/vens/{venID}", oadr_vens_delete, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/resources", oadr_resources_search, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/resources", oadr_resources_create, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/resources/{resourceID}", oadr_resources_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "PUT", "/resources/{resourceID}", oadr_resources_update, OADR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "DELETE", "/resources/{resourceID}", oadr_resources_delete, OADR, HTTP_CT_NONE, 0},

	/* OpenADR 3.1 VTN: notifier bindings (MQTT topics; scopes checked by the handler) */
	{HTTP_VTN, "GET", "/notifiers", oadr_notifiers_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/programs", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/programs/{programID}", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/programs/{programID}/events", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/events", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/reports", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/subscriptions", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/vens", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/vens/{venID}", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/resources", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/vens/{venID}/events", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/vens/{venID}/programs", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/notifiers/mqtt/topics/vens/{venID}/resources", oadr_notifiers_topics_get, OADR, HTTP_CT_NONE, 0},

	/* fleet enrollment (JSON, VTN listener) */
	{HTTP_VTN, "POST", "/fleet/v1/enrollment-requests", fleet_api_request_create, HTTP_ROLE_AGGREGATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/fleet/v1/enrollment-requests", fleet_api_request_list, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/enrollment-requests/{id}", fleet_api_request_get, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/fleet/v1/enrollment-requests/{id}/approve", fleet_api_request_approve, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "POST", "/fleet/v1/enrollment-requests/{id}/reject", fleet_api_request_reject, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "POST", "/fleet/v1/enrollment-requests/{id}/withdraw", fleet_api_request_withdraw, HTTP_ROLE_AGGREGATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "POST", "/fleet/v1/enrollment-requests/{id}/remove", fleet_api_request_remove, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/fleet/v1/sites", fleet_api_sites, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/ders", fleet_api_ders, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/enrollments", fleet_api_enrollments, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/statements", fleet_statements_list, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/statements/{id}/chart.svg", fleet_statements_chart, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/resources", fleet_aggapi_resources, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/resources/{id}", fleet_aggapi_resource_get, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/fleet/v1/resources/{id}/telemetry", fleet_aggapi_telemetry, HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},

	/* IEEE 2030.5 programs and controls: the operator's JSON API */
	{HTTP_VTN, "POST", "/api/v1/der-programs", sep2_api_program_post, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "POST", "/api/v1/der-programs/{id}/controls", sep2_api_control_post, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "POST", "/api/v1/der-programs/{id}/curves", sep2_api_curve_post, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "POST", "/api/v1/der-controls/{id}/cancel", sep2_api_control_cancel, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/api/v1/der-controls/{id}/responses", sep2_api_control_responses, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},

	/* grid events: one operator record, sent as DERControls and an OpenADR event */
	{HTTP_VTN, "POST", "/api/v1/aggregations/{id}/events", oadr_grid_create, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/api/v1/aggregations/{id}/events", oadr_grid_list, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/api/v1/aggregations/{id}/events/{e}", oadr_grid_get, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/api/v1/aggregations/{id}/events/{e}/cancel", oadr_grid_cancel, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},

	/* fleet dispatch: targets, runs, schedules, plots */
	{HTTP_VTN, "POST", "/api/v1/aggregations/{id}/targets", grid_targets_post, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/api/v1/aggregations/{id}/targets", grid_targets_get, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "POST", "/api/v1/aggregations/{id}/dispatch", grid_dispatch_post, HTTP_ROLE_OPERATOR, HTTP_CT_JSON, 0},
	{HTTP_VTN, "GET", "/api/v1/dispatch-runs/{id}", grid_run_get, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/api/v1/dispatch-runs/{id}/schedules", grid_run_schedules, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},
	{HTTP_VTN, "GET", "/api/v1/dispatch-runs/{id}/plot.svg", grid_run_plot, HTTP_ROLE_OPERATOR, HTTP_CT_NONE, 0},

	/* health and metrics */
	{HTTP_ADMIN, "GET", "/healthz", admin_healthz, ANON, HTTP_CT_NONE, 0},
	{HTTP_ADMIN, "GET", "/readyz", admin_readyz, ANON, HTTP_CT_NONE, 0},
	{HTTP_ADMIN, "GET", "/metrics", admin_metrics, ANON, HTTP_CT_NONE, 0},
};

const size_t http_nroutes = sizeof(http_routes) / sizeof(http_routes[0]);

/* bearer tokens on the VTN listener */
const http_bearer_fn http_bearer_verify = vtn_auth_bearer;

/* the dispatch role (server/supervisor.c's table), which publishes through the protocols */
extern const worker_main_fn supervisor_dispatch_main;
const worker_main_fn supervisor_dispatch_main = grid_dispatch_main;
