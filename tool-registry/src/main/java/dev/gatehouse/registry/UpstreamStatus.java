package dev.gatehouse.registry;

import java.time.Instant;
import java.util.Optional;

/**
 * What {@code /readyz} and the admin API show of one upstream.
 *
 * @param state connecting, connected, disconnected (retrying) or disabled
 * @param lastError the last connection failure, if any; never contains header or env values
 * @param since when the state was entered
 * @param attempts connection attempts since the last success
 * @param tools how many tools the upstream offers
 * @param auth for an upstream with {@code auth:}, the state of its credentials in words (never a token)
 */
public record UpstreamStatus(String name, State state, Optional<String> lastError, Instant since, int attempts,
    int tools, String transport, long pid, Optional<String> auth) {

  public UpstreamStatus(String name, State state, Optional<String> lastError, Instant since, int attempts, int tools,
      String transport, long pid) {
    this(name, state, lastError, since, attempts, tools, transport, pid, Optional.empty());
  }

  /** Connection states. */
  public enum State { CONNECTING, CONNECTED, DISCONNECTED, DISABLED }

  public boolean connected() {
    return state == State.CONNECTED;
  }
}
