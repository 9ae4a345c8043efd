package dev.gatehouse.gateway;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The gateway as a separate JVM, for what needs a process of its own: SIGKILL, the shipped
 * {@code jvm.options} (a 96 MB heap), children left behind.
 */
final class GatewayProcess implements AutoCloseable {
  final Process process;
  final URI base;
  private final StringBuilder output;

  private GatewayProcess(Process process, URI base, StringBuilder output) {
    this.process = process;
    this.base = base;
    this.output = output;
  }

  /** The JVM options of the project's {@code jvm.options}, as scripts/start uses them. */
  static List<String> shippedJvmOptions() throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(NodeTooling.ROOT.resolve("jvm.options"))) {
      if (!line.isBlank() && !line.startsWith("#")) {
        out.add(line.strip());
      }
    }
    return out;
  }

  /** Starts {@code dev.gatehouse.gateway.Main --config file} and waits until it listens. */
  static GatewayProcess start(Path config, List<String> jvmOptions) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(TestUpstreams.java()));
    cmd.addAll(jvmOptions);
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "dev.gatehouse.gateway.Main", "--config", config.toString()));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Pattern listening = Pattern.compile("listening on (http://\\S+)");
    CompletableFuture<URI> found = new CompletableFuture<>();
    StringBuilder seen = new StringBuilder();
    Thread.ofVirtual().start(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = in.readLine()) != null) {
          synchronized (seen) {
            seen.append(line).append('\n');
          }
          Matcher m = listening.matcher(line);
          if (m.find()) {
            found.complete(URI.create(m.group(1)));
          }
        }
        found.completeExceptionally(new AssertionError("gateway exited: " + seen));
      } catch (Exception e) {
        found.completeExceptionally(e);
      }
    });
    try {
      return new GatewayProcess(p, found.get(60, TimeUnit.SECONDS), seen);
    } catch (Exception e) {
      p.destroyForcibly();
      throw e;
    }
  }

  /** Waits until {@code /readyz} answers 200. */
  void awaitReady() throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (TestUpstreams.get(base.resolve("/readyz")).statusCode() == 200) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("gateway never ready: " + output());
  }

  String output() {
    synchronized (output) {
      return output.toString();
    }
  }

  /** SIGKILL: no shutdown hook runs, nothing is flushed; its children are left as they are. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    kill();
  }
}
