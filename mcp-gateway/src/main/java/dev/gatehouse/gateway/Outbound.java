package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Somewhere JSON-RPC messages to a downstream client can be written. */
interface Outbound {
  /** Queues or writes one message; false if this channel is closed. Never blocks for long. */
  boolean send(ObjectNode message);
}
