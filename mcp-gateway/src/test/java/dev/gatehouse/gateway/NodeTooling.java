package dev.gatehouse.gateway;

import dev.gatehouse.registry.UpstreamConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The pinned Node tooling of {@code node-tests/} (installed by {@code scripts/node-setup}, which the
 * README's test command runs): Node 22, the MCP TypeScript SDK, the Inspector CLI, the reference
 * servers and the conformance suite.
 */
final class NodeTooling {
  static final Path ROOT = findRoot();
  static final Path MODULES = ROOT.resolve("node-tests/node_modules");
  static final Path NODE = MODULES.resolve("node/bin/node");

  private NodeTooling() {}

  private static Path findRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.isDirectory(p.resolve("node-tests"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("cannot find the project root (a directory with node-tests/) above " + Path.of("").toAbsolutePath());
    }
    return p;
  }

  /** Fails with the fix when the tooling is not installed. */
  static void require() {
    if (!Files.isExecutable(NODE) || !Files.isDirectory(MODULES.resolve("@modelcontextprotocol/sdk"))) {
      throw new AssertionError("Node tooling missing: run 'scripts/node-setup' (the README's test command does)");
    }
  }

  /** A stdio upstream running a reference server's entry point with Node 22. */
  static UpstreamConfig.Stdio server(String pkg, String... args) {
    List<String> a = new ArrayList<>();
    a.add(MODULES.resolve(pkg).resolve("dist/index.js").toString());
    a.addAll(List.of(args));
    return new UpstreamConfig.Stdio(NODE.toString(), a,
        Map.of("PATH", NODE.getParent() + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin")), null, true,
        new UpstreamConfig.Timeouts(Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ZERO));
  }

  /** A Node server of {@code node-tests/} that is listening, and where. */
  record Listening(Process process, java.net.URI url) implements AutoCloseable {
    @Override
    public void close() {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
    }
  }

  /**
   * Starts {@code node-tests/<script>} and waits for its first line, {@code listening on <url>}; the
   * rest of its output is drained (and discarded).
   */
  static Listening listening(String script, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(NODE.toString());
    cmd.add(script);
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.resolve("node-tests").toFile())
        .redirectErrorStream(true);
    Process p = pb.start();
    java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null || !line.startsWith("listening on ")) {
      p.destroyForcibly();
      throw new AssertionError(script + " did not start: " + line);
    }
    Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));
    return new Listening(p, java.net.URI.create(line.substring("listening on ".length()).strip()));
  }

  /** A stdio upstream running {@code node-tests/<script>} with Node 22. */
  static UpstreamConfig.Stdio script(String script, String... args) {
    List<String> a = new ArrayList<>();
    a.add(ROOT.resolve("node-tests").resolve(script).toString());
    a.addAll(List.of(args));
    return new UpstreamConfig.Stdio(NODE.toString(), a, Map.of("PATH", NODE.getParent() + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin")),
        ROOT.resolve("node-tests").toString(), true, new UpstreamConfig.Timeouts(Duration.ofSeconds(60), Duration.ofSeconds(30), Duration.ZERO));
  }

  /** Output of one finished command. */
  record Run(int exit, String stdout, String stderr) {}

  /** Runs node with {@code args} from {@code node-tests/}, within {@code timeout}. */
  static Run node(Duration timeout, String... args) throws IOException, InterruptedException {
    return nodeIn(ROOT.resolve("node-tests"), timeout, args);
  }

  /** As {@link #node}, from another working directory. */
  static Run nodeIn(Path cwd, Duration timeout, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(NODE.toString());
    cmd.addAll(List.of(args));
    return run(cmd, cwd, timeout);
  }

  static Run run(List<String> cmd, Path cwd, Duration timeout) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile());
    pb.environment().put("PATH", NODE.getParent() + ":" + System.getenv().getOrDefault("PATH", "/usr/bin:/bin"));
    Path out = Files.createTempFile("node-out", ".txt");
    Path err = Files.createTempFile("node-err", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      throw new AssertionError("timed out after " + timeout + ": " + cmd + "\n" + Files.readString(err));
    }
    Run r = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    Files.deleteIfExists(out);
    Files.deleteIfExists(err);
    return r;
  }
}
