package dev.gatehouse.gateway;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import java.net.URI;
import java.time.Duration;

/**
 * How the gateway talks to Redis, for every use (limits, sessions): commands time out after
 * {@code timeout}, fail at once while disconnected instead of queueing (a call never waits for Redis
 * to come back), and the client reconnects in the background.
 */
final class RedisClients {
  private RedisClients() {}

  /** A client and its one connection; fails with a message naming {@code what} when Redis cannot be reached now. */
  record Connected(RedisClient client, StatefulRedisConnection<String, String> connection) implements AutoCloseable {
    @Override
    public void close() {
      connection.close();
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  static Connected connect(URI store, Duration timeout, String what) {
    RedisURI uri = RedisURI.create(store);
    uri.setTimeout(timeout);
    RedisClient client = RedisClient.create(uri);
    client.setOptions(ClientOptions.builder()
        .autoReconnect(true)
        .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
        .socketOptions(SocketOptions.builder().connectTimeout(Duration.ofSeconds(2)).build())
        .timeoutOptions(TimeoutOptions.enabled(timeout))
        .build());
    try {
      return new Connected(client, client.connect());
    } catch (RuntimeException e) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      throw new IllegalStateException(what + ": cannot reach " + LimitsSettings.redact(store.toString()) + ": " + e.getMessage()
          + " (expected: a reachable Redis, or memory)");
    }
  }
}
