/* Error code names and messages. */
#include <framekit/error.h>

struct err_desc {
	const char *name;
	const char *text;
};

static const struct err_desc descs[] = {
    {"FK_OK", "success"},
    {"FK_EINUSE", "frame is in use"},
    {"FK_EUNUSED", "frame is not in use (already released?)"},
    {"FK_EBUSY", "frame or resource is busy (being built or torn down)"},
    {"FK_EUNIQUE", "frame is exclusively owned"},
    {"FK_EOUTOFBOUND", "address or range out of bounds"},
    {"FK_ENOTALIGNED", "address, offset or range not page aligned"},
    {"FK_EINVAL", "invalid argument"},
    {"FK_ENOTRAW", "no raw reference recorded for this frame or range"},
    {"FK_ETYPE", "metadata type mismatch"},
    {"FK_ENOMEM", "out of memory"},
    {"FK_EOVERFLOW", "reference count overflow"},
    {"FK_EMANAGED", "frame belongs to the allocator; use fk_alloc_*"},
    {"FK_ENOENT", "no such region or allocator"},
    {"FK_EEXIST", "region overlaps an existing one"},
};

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
