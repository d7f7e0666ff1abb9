/* SPDX-License-Identifier: MIT */
/* Error code names and messages, from FK_ERROR_LIST (framekit/error.h). */
#include <framekit/error.h>

struct err_desc {
	const char *name;
	const char *text;
};

/* Indexed by -err: the list's values must be 0, -1, -2, ... in order. */
#define ERR_DESC(name, value, message, meaning) [-(value)] = {#name, message},
static const struct err_desc descs[] = {FK_ERROR_LIST(ERR_DESC)};
#undef ERR_DESC

#define ERR_CHECK(name, value, message, meaning)                                                  \
	_Static_assert(value <= 0 && value >= FK_ERANGE_LAST, #name " out of range");
FK_ERROR_LIST(ERR_CHECK)
#undef ERR_CHECK
_Static_assert(sizeof(descs) / sizeof(descs[0]) == 1 - FK_ERANGE_LAST,
               "FK_ERROR_LIST values must be 0, -1, -2, ... without gaps");

static const struct err_desc *lookup(int err)
{
	if (err > 0 || err < FK_ERANGE_LAST)
		return 0;
	return &descs[-err];
}

const char *fk_strerror(int err)
{
	const struct err_desc *d = lookup(err);
	return d ? d->text : "unknown error";
}

const char *fk_strerror_name(int err)
{
	const struct err_desc *d = lookup(err);
	return d ? d->name : "FK_E?";
}
