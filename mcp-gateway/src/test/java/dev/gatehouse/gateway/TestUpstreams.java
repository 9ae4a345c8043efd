package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditSettings;
import dev.gatehouse.registry.UpstreamConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** Upstream configs for the samples' servers, and small waiting and HTTP helpers for tests. */
final class TestUpstreams {
  private TestUpstreams() {}

  static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** A stdio upstream running one of the samples' servers as a child process of the test JVM. */
  static UpstreamConfig.Stdio samples(String server, String... flags) {
    List<String> args = new ArrayList<>(List.of("-cp", System.getProperty("java.class.path"),
        "-XX:TieredStopAtLevel=1", "dev.gatehouse.samples.Samples", server));
    args.addAll(List.of(flags));
    return new UpstreamConfig.Stdio(java(), args, Map.of(), null, true,
        new UpstreamConfig.Timeouts(Duration.ofSeconds(20), Duration.ofSeconds(20), Duration.ZERO));
  }

  /** The YAML form of {@link #samples}, for config files in reload tests. */
  static String samplesYaml(String name, String server) {
    StringBuilder b = new StringBuilder();
    b.append("  ").append(name).append(":\n");
    b.append("    transport: stdio\n");
    b.append("    command: \"").append(java()).append("\"\n");
    b.append("    args: [\"-cp\", \"").append(System.getProperty("java.class.path")).append("\", \"-XX:TieredStopAtLevel=1\", \"dev.gatehouse.samples.Samples\", \"").append(server).append("\"]\n");
    b.append("    timeouts: { connect: 20s, call: 20s, health: 0s }\n");
    return b.toString();
  }

  /**
   * Built-in defaults without the audit store (whose default file is relative to the working
   * directory and may be opened by one gateway at a time); audit has tests of its own.
   */
  static GatewayConfig noAudit() {
    return GatewayConfig.defaults().withAudit(AuditSettings.defaults().withEnabled(false));
  }

  /** Closes what a test class started (gateway first, then its upstreams); nulls (never started) are skipped. */
  static void closeAll(AutoCloseable... started) throws Exception {
    for (AutoCloseable c : started) {
      if (c != null) {
        c.close();
      }
    }
  }

  static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for: " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    }
  }

  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  static HttpResponse<String> send(HttpRequest request) {
    try {
      return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  static HttpResponse<String> get(URI uri) {
    return send(HttpRequest.newBuilder(uri).GET().build());
  }
}
