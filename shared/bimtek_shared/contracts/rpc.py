"""What travels with an RPC request besides nameko's own headers."""

# Absolute time (Unix epoch, integer milliseconds: AMQP clients may send a Python float as a
# 32-bit float, which rounds today's epoch seconds to the nearest 128) after which the caller no
# longer waits for the answer.
# The gateway sets it to now + its timeout; a service drops a request it receives after that,
# because the caller was already told the call failed (504) and may have retried it.
# The AMQP expiration covers a request still in the queue; this covers one that had already been
# pushed to a stalled consumer. Hosts keep their clocks in sync (NTP).
DEADLINE_HEADER = "x-bimtek-deadline-ms"
