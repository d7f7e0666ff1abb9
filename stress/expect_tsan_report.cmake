# SPDX-License-Identifier: MIT
# Run PROG and pass only if ThreadSanitizer reported a data race and exited
# with TSAN_OPTIONS' exitcode (66). Used by racy_demo_is_caught_by_tsan.
execute_process(COMMAND ${PROG} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}${err}")
if(NOT rc EQUAL 66)
  message(FATAL_ERROR "expected exit code 66 (TSan report), got ${rc}")
endif()
if(NOT err MATCHES "WARNING: ThreadSanitizer: data race")
  message(FATAL_ERROR "expected a TSan data race report")
endif()
if(NOT err MATCHES "racy_demo.c")
  message(FATAL_ERROR "the report does not point at racy_demo.c")
endif()
message("OK: TSan caught the deliberate race")
