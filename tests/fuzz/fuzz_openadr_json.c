/*
 * tests/fuzz/fuzz_openadr_json.c
 *	  libFuzzer target for protocols/openadr/model.c: every input goes
 *	  through the request validator of every object kind, and a body that
 *	  validates is serialized and validated again, as the VTN stores and
 *	  serves it.
 *
 * NOTES
 *	  Built by "make fuzz" with clang-14 and -fsanitize=fuzzer,address,
 *	  undefined into build-fuzz/; never part of check_dermsd.  Seeds are
 *	  in tests/fuzz/corpus/openadr_json/.  A refusal is a normal outcome;
 *	  a crash, a sanitizer report, a leak, or a stored body that no longer
 *	  validates (abort()) is a finding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocols/openadr/model.h"
#include "server/err.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int k = 0; k < OADR_NKINDS; k++)
	{
		oadr_doc	doc;
		oadr_doc	again;
		derms_err	err;
		json_t	   *served;
		bool		bounded;
		int64_t		end;

		if (oadr_model_parse((oadr_kind) k, (const char *) data, size, &doc, &err) != DERMS_OK)
		{
			if (doc.body != NULL)
				abort();		/* a refusal leaves nothing behind */
			continue;
		}
		if (k == OADR_EVENT)
			oadr_model_event_end(doc.body, &bounded, &end);
		/* what is served validates again as what is sent back on PUT */
		served = oadr_model_object((oadr_kind) k, "1", "2024-01-01T00:00:00.000Z",
								   "2024-01-01T00:00:00.000Z", doc.body,
								   k == OADR_PROGRAM || k == OADR_EVENT ? NULL : "c");
		if (served == NULL)
			abort();
		if (k == OADR_VEN || k == OADR_RESOURCE)
		{
			json_object_set_new(served, "objectType",
								json_string(k == OADR_VEN ? "BL_VEN_REQUEST"
											: "BL_RESOURCE_REQUEST"));
		}
		if (oadr_model_check((oadr_kind) k, served, &again, &err) != DERMS_OK)
			abort();
		if (!json_equal(again.body, doc.body))
			abort();
		json_decref(again.body);
		json_decref(served);
		json_decref(doc.body);
	}
	return 0;
}
