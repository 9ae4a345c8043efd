package dev.gatehouse.registry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/** Upstream configs that start the samples' servers as child processes of the test JVM. */
final class Fixtures {
  private Fixtures() {}

  static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** A stdio upstream running {@code dev.gatehouse.samples.Samples <server> <flags…>}. */
  static UpstreamConfig.Stdio samples(String server, String... flags) {
    List<String> args = new ArrayList<>(List.of("-cp", System.getProperty("java.class.path"),
        "-Xshare:auto", "-XX:TieredStopAtLevel=1", "dev.gatehouse.samples.Samples", server));
    args.addAll(List.of(flags));
    return new UpstreamConfig.Stdio(java(), args, Map.of(), null, true,
        new UpstreamConfig.Timeouts(Duration.ofSeconds(20), Duration.ofSeconds(20), Duration.ZERO));
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
}
