/* SPDX-License-Identifier: MIT */
/**
 * @file
 * framekit: the umbrella header; includes every public header.
 */
#ifndef FRAMEKIT_H
#define FRAMEKIT_H

#include <framekit/alloc.h>
#include <framekit/allocator.h>
#include <framekit/error.h>
#include <framekit/frame.h>
#include <framekit/mem.h>
#include <framekit/meta.h>
#include <framekit/segment.h>

#endif /* FRAMEKIT_H */
