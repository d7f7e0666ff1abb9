/* SPDX-License-Identifier: MIT */
/*
 * The slot layer's one definition: the untyped metadata type (Rust's `()`).
 * Everything else about a slot is inline in slot_internal.h.
 */
#include "slot_internal.h"

const struct fk_meta_type fk_meta_untyped = {
    .name = "untyped",
    .size = 0,
    .on_drop = 0,
    .ctx = 0,
    .untyped = 1,
};
