/* wirelog.h: every server message a test sees, kept for the schema check.
 *
 * cq_wire_log appends one message (compact JSON, no newline) as a line to
 * $CQ_WIRE_LOG_DIR/wire-PID.jsonl when that variable is set, and does
 * nothing otherwise. ctest's server_messages_agree then validates every line
 * against protocol/schema/server/ after the other tests
 * (tests/protocol/messages_agree.py). The test WebSocket client logs what it
 * receives; tests/unit/test_wire.c logs what it builds. */
#ifndef CQ_WIRELOG_H
#define CQ_WIRELOG_H

#include <stddef.h>

void cq_wire_log(const void *msg, size_t n);

#endif
