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
 */
public record UpstreamStatus(String name, State state, Optional<String> lastError, Instant since, int attempts,
    int tools, String transport, long pid) {

  /** Connection states. */
  public enum State { CONNECTING, CONNECTED, DISCONNECTED, DISABLED }

  public boolean connected() {
    return state == State.CONNECTED;
  }
}
