/* SPDX-License-Identifier: MIT */
/*
 * The translation unit WP proves (scripts/prove.sh): core/src/segment_arith.h
 * as segment.c compiles it. Nothing else lives here, so every goal WP
 * reports is a goal about that header.
 */
#include "segment_arith.h"
