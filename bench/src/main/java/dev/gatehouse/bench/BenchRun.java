package dev.gatehouse.bench;

import dev.gatehouse.identity.ApiKeys;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;

/**
 * One {@code bench run}: starts the mocks and the gateway(s) as separate processes, runs every
 * selected scenario (warm-up, alternating direct/gateway rounds at the same open-loop rate, then
 * closed-loop saturation), stops the processes, verifies the audit chain the run wrote, runs the JMH
 * microbenchmarks, and writes the report.
 */
final class BenchRun {
  private final Options o;
  private final String stamp;
  private final Path javaBin = Path.of(ProcessHandle.current().info().command().orElse("java"));
  private final List<String> notes = new ArrayList<>();
  private Path gatewayJar;

  BenchRun(Options o, String stamp) {
    this.o = o;
    this.stamp = stamp;
  }

  /** One side's merged measurements in one scenario. */
  static final class Side {
    long ok;
    long errors;
    long unfinished;
    long wallNanos;
    final Map<String, Long> errorKinds = new HashMap<>();
    final Histogram latency = new Histogram(LoadGen.MAX_NANOS, 3);
    final Histogram firstByte = new Histogram(LoadGen.MAX_NANOS, 3);
    final Histogram lateness = new Histogram(LoadGen.MAX_NANOS, 3);

    void add(LoadGen.Phase p) {
      ok += p.ok();
      errors += p.errors();
      unfinished += p.unfinished();
      wallNanos += p.wallNanos();
      p.errorKinds().forEach((k, v) -> errorKinds.merge(k, v, Long::sum));
      latency.add(p.latency());
      firstByte.add(p.firstByte());
      lateness.add(p.lateness());
    }

    double throughput() {
      return wallNanos == 0 ? 0 : ok * 1e9 / wallNanos;
    }
  }

  /** A process's resource use summed over the phases of one kind (gateway phases, saturation). */
  static final class Usage {
    double cpuSeconds;
    double wallSeconds;
    long rssMaxKb = -1;
    long rssEndKb = -1;
    long hwmKb = -1;

    void add(ProcStats.Usage u, double wall) {
      cpuSeconds += u.cpuSeconds();
      wallSeconds += wall;
      rssMaxKb = Math.max(rssMaxKb, u.rssMaxKb());
      rssEndKb = u.rssEndKb();
      hwmKb = Math.max(hwmKb, u.hwmKb());
    }

    double cores() {
      return wallSeconds == 0 ? 0 : cpuSeconds / wallSeconds;
    }
  }

  /** What one scenario measured, or why it was skipped. */
  static final class Result {
    final Scenarios.Kind kind;
    double rate;
    String skipped;
    final Side direct = new Side();
    final Side floor = new Side();
    final Side gateway = new Side();
    boolean hasFloor;
    LoadGen.Phase saturationDirect;
    LoadGen.Phase saturationFloor;
    LoadGen.Phase saturationGateway;
    final Map<String, Usage> usage = new LinkedHashMap<>();
    final Map<String, Usage> saturationUsage = new LinkedHashMap<>();
    /** The gateway's CPU seconds per thread group over its measured (open-loop) phases. */
    final Map<String, Double> gatewayThreads = new LinkedHashMap<>();
    double opsPerChainDirect;
    double opsPerChainGateway;

    Result(Scenarios.Kind kind) {
      this.kind = kind;
    }
  }

  /** A started gateway. */
  private record Gateway(String name, Process process, URI base, Path config, Path store, Path log) {}

  Report.Run run() throws Exception {
    Files.createDirectories(o.work());
    Files.createDirectories(o.out());
    Path self = selfJar();
    Instant started = Instant.now();
    // Run a copy: a concurrent rebuild must not swap the jar under a running gateway.
    gatewayJar = o.work().resolve("gatehouse.jar");
    Files.copy(o.gatewayJar(), gatewayJar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    notes.add("Gateway build: " + revision() + " (" + o.gatewayJar() + ", copied to the work directory for the run).");
    Report.Machine machine = Report.Machine.describe(javaBin);
    System.out.println("gatehouse bench " + stamp + ": " + machine.summary());
    System.out.println("work directory: " + o.work());
    List<Result> results = new ArrayList<>();
    Map<String, String> audit = new LinkedHashMap<>();
    try (Children children = new Children(o.work().resolve("pids"))) {
      // Mocks: their own JVM, so their CPU is theirs and not the load generator's.
      int mockPort = freePort();
      Process mocks = children.start("mocks", List.of(javaBin.toString(), "-cp", self.toString(), Main.class.getName(), "mocks",
          "--port", Integer.toString(mockPort), "--stream-chunks", Integer.toString(o.streamChunks()),
          "--stream-gap-us", Long.toString(o.streamGap().toNanos() / 1000), "--tool-rounds", Integer.toString(o.toolRounds())),
          o.work().resolve("mocks.log"));
      URI mockBase = URI.create("http://127.0.0.1:" + mockPort);
      URI floorBase = null;
      Process nginx = null;
      if (o.floor()) {
        java.util.Optional<Path> bin = Nginx.binary();
        if (bin.isEmpty()) {
          notes.add("No floor: nginx is not installed (scripts/bench installs Debian's nginx-light when it can).");
        } else {
          int floorPort = freePort();
          nginx = Nginx.start(children, bin.get(), o.work().resolve("nginx").toAbsolutePath(), floorPort, mockPort);
          floorBase = URI.create("http://127.0.0.1:" + floorPort);
          notes.add("Floor: " + bin.get() + " as a plain reverse proxy (kept-alive upstream connections, no buffering, "
              + "worker_processes auto) in front of the same mocks; its config is " + o.work().resolve("nginx/nginx.conf") + ".");
        }
      }

      boolean needOn = o.scenarios().stream().anyMatch(k -> k.governed);
      boolean needOff = o.scenarios().stream().anyMatch(k -> !k.governed);
      boolean wantChat = o.scenarios().stream().anyMatch(k -> k.needsChat);
      String apiKey = ApiKeys.generate();
      try (Http http = new Http(1024)) {
        waitReady(http, mockBase.resolve("/healthz"), mocks, "mocks", o.work().resolve("mocks.log"));
        if (nginx != null) {
          waitReady(http, floorBase.resolve("/healthz"), nginx, "nginx", o.work().resolve("nginx/nginx.log"));
        }
        Gateway on = needOn ? startGateway(children, http, "gateway", true, mockBase, apiKey, wantChat) : null;
        Gateway off = needOff ? startGateway(children, http, "gateway-off", false, mockBase, apiKey, wantChat) : null;
        Map<String, Long> pids = new LinkedHashMap<>();
        if (on != null) {
          pids.put(on.name(), on.process().pid());
        }
        if (off != null) {
          pids.put(off.name(), off.process().pid());
        }
        pids.put("mocks", mocks.pid());
        if (nginx != null) {
          pids.put("nginx", nginx.pid());
          nginx.descendants().forEach(h -> pids.put("nginx-" + h.pid(), h.pid()));
        }
        pids.put("loadgen", ProcessHandle.current().pid());
        try (ProcStats.Monitor monitor = new ProcStats.Monitor(pids, 200)) {
          for (Scenarios.Kind k : o.scenarios()) {
            Gateway g = k.governed ? on : off;
            Scenarios.Target direct = new Scenarios.Target("direct", mockBase, false, List.of());
            Scenarios.Target floor = floorBase == null ? null : new Scenarios.Target("floor", floorBase, false, List.of());
            Scenarios.Target via = new Scenarios.Target(g.name(), g.base(), true,
                k.governed ? List.<String[]>of(new String[] {"X-API-Key", apiKey}) : List.of());
            results.add(scenario(k, http, direct, floor, via, monitor, g.name(), g.process().pid()));
          }
        }
        for (Gateway g : new Gateway[] {on, off}) {
          if (g == null) {
            continue;
          }
          System.out.println("stopping " + g.name() + " (pid " + g.process().pid() + ")");
          Children.stop(g.process(), 30);
        }
        if (on != null) {
          audit.putAll(verifyAudit(on));
        }
        if (nginx != null) {
          Children.stop(nginx, 10);
        }
        Children.stop(mocks, 10);
      }
    }
    List<Report.Jmh> jmh = o.jmh() ? Jmh.run(o.jmhArgs(), o.work().resolve("jmh.json")) : List.of();
    if (!o.jmh()) {
      notes.add("JMH microbenchmarks skipped (--no-jmh).");
    }
    if (o.asyncProfiler()) {
      notes.add("Each gateway ran under async-profiler (CPU, 1 ms interval), which costs some CPU: " + o.work().resolve("<gateway>.collapsed")
          + "; summarise it with `java -jar bench/target/gatehouse-bench.jar profile-top FILE`.");
    }
    if (o.jfr()) {
      notes.add("The gateway ran with Java Flight Recorder (settings=profile), which costs a little CPU: "
          + o.work().resolve("<gateway>.jfr") + " (one file per gateway process); summarise it with `java -jar bench/target/gatehouse-bench.jar jfr-top FILE`.");
    }
    return new Report.Run(stamp, started, Instant.now(), o, machine, results, jmh, audit, notes);
  }

  // ---------------------------------------------------------------- processes

  private Gateway startGateway(Children children, Http http, String name, boolean governed, URI mockBase, String apiKey, boolean chat)
      throws Exception {
    Path dir = o.work().resolve(name);
    Files.createDirectories(dir);
    // The default store, ./data/gatehouse.db next to the config: a subdirectory, as users get it.
    Path store = dir.resolve("data/gatehouse.db");
    int port = freePort();
    Path config = dir.resolve("gatehouse.yaml");
    Path log = o.work().resolve(name + ".log");
    List<String> cmd = new ArrayList<>(List.of(javaBin.toString()));
    cmd.addAll(o.gatewayJvmOpts());
    if (o.asyncProfiler()) {
      cmd.add("-agentpath:" + AsyncProfiler.library(o.work()) + "=start,event=cpu,interval=1ms,collapsed,file="
          + o.work().toAbsolutePath().resolve(name + ".collapsed"));
    }
    if (o.jfr()) {
      cmd.add("-XX:StartFlightRecording=filename=" + o.work().toAbsolutePath().resolve(name + ".jfr") + ",settings=profile,dumponexit=true");
    }
    cmd.addAll(List.of("-jar", gatewayJar.toString(), "--config", config.toString()));
    URI base = URI.create("http://127.0.0.1:" + port);
    for (boolean providers : chat ? new boolean[] {true, false} : new boolean[] {false}) {
      Files.writeString(config, config(port, mockBase, governed, apiKey, store, providers));
      Process p = children.start(name, cmd, log);
      try {
        waitReady(http, base.resolve("/readyz"), p, name, log);
      } catch (IllegalStateException e) {
        String text = Files.exists(log) ? Files.readString(log) : "";
        if (providers && !p.isAlive() && text.contains("providers")) {
          notes.add(name + ": the gateway does not accept a `providers:` section yet; it ran without one, so chat scenarios "
              + "see 404 and are skipped.");
          System.out.println(name + ": config with providers: refused, starting without it");
          continue;
        }
        throw e;
      }
      System.out.println(name + " ready at " + base + " (pid " + p.pid() + ", identity+policy+audit " + (governed ? "on" : "off") + ")");
      return new Gateway(name, p, base, config, store, log);
    }
    throw new IllegalStateException(name + " did not start; see " + log);
  }

  /** The gateway's config: one Streamable HTTP upstream (the mock), one provider (the mock model). */
  private String config(int port, URI mock, boolean governed, String apiKey, Path store, boolean providers) {
    StringBuilder y = new StringBuilder();
    y.append("# Written by bench run: the gateway under test.\n");
    y.append("server:\n  host: 127.0.0.1\n  port: ").append(port).append('\n');
    y.append("upstreams:\n  ").append(Scenarios.SERVER).append(":\n    transport: streamable-http\n    url: \"")
        .append(mock.resolve("/mcp")).append("\"\n    timeouts: { connect: 10s, call: 10s, health: 30s }\n");
    if (providers) {
      y.append("providers:\n  ").append(Scenarios.PROVIDER).append(":\n    kind: openai-compatible\n    base_url: \"")
          .append(mock.resolve("/v1")).append("\"\n    models: [").append(Scenarios.MODEL).append("]\n");
    }
    if (governed) {
      y.append("identity:\n  api_keys:\n    - id: bench\n      hash: \"").append(ApiKeys.hash(apiKey))
          .append("\"\n      subject: bench-agent\n      groups: [bench]\n");
      // A realistic small policy: a group-scoped allow with a rate limit (far above the bench's rate, so
      // the token bucket is exercised but never refuses), a deny that does not match, an argument check.
      y.append("""
          policies:
            - id: bench-agents
              when: { groups: [bench] }
              allow: { tools: ["bench__*"], models: ["mock/*"] }
              arguments:
                bench__echo:
                  text: { max_length: 4096 }
              limits: { requests_per_minute: 100000000 }
            - id: no-destructive-tools
              deny: { tools: ["*__delete_*", "*__drop_*"] }
          """);
      y.append("audit:\n  enabled: true\n");
      if (!o.auditStore().isEmpty()) {
        y.append("  store: \"").append(o.auditStore()).append("\"\n");
      }
      if (!o.auditDurability().isEmpty()) {
        y.append("  durability: ").append(o.auditDurability()).append("\n");
      }
      if (!o.limitsStore().isEmpty()) {
        y.append("limits:\n  store: \"").append(o.limitsStore()).append("\"\n");
      }
    } else {
      y.append("audit:\n  enabled: false\n");
    }
    return y.toString();
  }

  private static void waitReady(Http http, URI uri, Process p, String name, Path log) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
    String last = "";
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        throw new IllegalStateException(name + " exited with status " + p.exitValue() + " before it was ready; its log ("
            + log + ") ends:\n" + tail(log));
      }
      Http.Reply r = http.getAndWait(uri, List.of());
      if (r.status() == 200 && !r.contains("\"degraded\"")) {
        return;
      }
      last = r.problem();
      TimeUnit.MILLISECONDS.sleep(200);
    }
    throw new IllegalStateException(name + " not ready within 90 s (" + last + "); log: " + log + "\n" + tail(log));
  }

  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    } catch (IOException e) {
      return "(no log)";
    }
  }

  /** {@code gatehouse audit verify} on the store the governed gateway wrote: proof that audit was on. */
  private Map<String, String> verifyAudit(Gateway g) throws Exception {
    Map<String, String> out = new LinkedHashMap<>();
    Path log = o.work().resolve("audit-verify.log");
    Process p = new ProcessBuilder(javaBin.toString(), "-jar", gatewayJar.toString(), "audit", "verify", "--store",
        o.auditStore().isEmpty() ? "sqlite:" + g.store().toAbsolutePath() : o.auditStore())
        .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      out.put("verify", "timed out");
      return out;
    }
    String text = Files.readString(log).strip();
    String line = text.lines().filter(l -> l.contains("audit chain")).findFirst().orElse(text);
    out.put("store", o.auditStore().isEmpty() ? g.store().toString() : o.auditStore());
    out.put("verify", line);
    out.put("exit_status", Integer.toString(p.exitValue()));
    System.out.println("audit: " + line);
    return out;
  }

  /** The git commit the gateway was built from, as far as the working tree tells ({@code +dirty} with local changes). */
  private static String revision() {
    try {
      Process p = new ProcessBuilder("git", "describe", "--always", "--dirty=+dirty", "--exclude=*").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0 ? "git " + out : "git revision unknown";
    } catch (IOException | InterruptedException e) {
      return "git revision unknown";
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static Path selfJar() throws Exception {
    return Path.of(BenchRun.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  // ---------------------------------------------------------------- scenarios

  /** One side of a comparison: its name, workload and target. */
  private record Side3(String name, LoadGen.Workload workload, Scenarios.Target target, boolean gateway) {}

  /**
   * One measured (or warm-up) phase. Paced clients get fresh connections for the phase, opened before it
   * starts: a connection left idle between phases would meet the server's idle timeout.
   */
  private LoadGen.Phase measure(Http http, Side3 side, double rate, long nanos) throws Exception {
    if (!o.paced()) {
      return LoadGen.openLoop(http, side.workload(), rate, nanos);
    }
    List<Http> clients = new ArrayList<>();
    try {
      for (int i = 0; i < o.clients(); i++) {
        clients.add(http.pin(side.target().base()));
      }
      return LoadGen.paced(clients, side.workload(), rate, nanos);
    } finally {
      close(clients);
    }
  }

  private static void close(List<Http> clients) {
    for (Http h : clients) {
      try {
        h.close();
      } catch (Exception ignored) {
        // best effort
      }
    }
  }

  private Result scenario(Scenarios.Kind k, Http http, Scenarios.Target direct, Scenarios.Target floor, Scenarios.Target via,
      ProcStats.Monitor monitor, String gatewayName, long gatewayPid) throws Exception {
    Result res = new Result(k);
    double rate = switch (k) {
      case CHAIN -> o.chainRate();
      case STREAM -> o.streamRate();
      default -> o.rate();
    };
    res.rate = rate;
    System.out.printf("%n== %s: %s at %.0f/s%n", k.id, k.title, rate);
    if (k.needsChat) {
      Http.Reply probe = http.postAndWait(via.uri("/v1/chat/completions"), via.with("Accept", "application/json"),
          Scenarios.chatBody(via, false));
      if (probe.status() == 404) {
        res.skipped = "endpoint not available yet (404 from POST /v1/chat/completions)";
        System.out.println("skipped: " + res.skipped);
        return res;
      }
      if (!probe.ok()) {
        res.skipped = "the gateway's chat endpoint failed its probe: " + probe.problem();
        System.out.println("skipped: " + res.skipped);
        return res;
      }
    }
    LoadGen.Workload wd;
    LoadGen.Workload wf = null;
    LoadGen.Workload wg;
    Scenarios.Chain chainD = null;
    Scenarios.Chain chainG = null;
    try {
      switch (k) {
        case MCP, MCP_OFF -> {
          wd = Scenarios.mcpCall(direct, Scenarios.openSessions(http, direct, o.sessions()));
          wf = floor == null ? null : Scenarios.mcpCall(floor, Scenarios.openSessions(http, floor, o.sessions()));
          wg = Scenarios.mcpCall(via, Scenarios.openSessions(http, via, o.sessions()));
        }
        case EXECUTE, EXECUTE_OFF -> {
          wd = Scenarios.mcpCall(direct, Scenarios.openSessions(http, direct, o.sessions()));
          wf = floor == null ? null : Scenarios.mcpCall(floor, Scenarios.openSessions(http, floor, o.sessions()));
          wg = Scenarios.execute(via);
        }
        case CHAT, CHAT_OFF -> {
          wd = Scenarios.chat(direct, false);
          wf = floor == null ? null : Scenarios.chat(floor, false);
          wg = Scenarios.chat(via, false);
        }
        case STREAM -> {
          wd = Scenarios.chat(direct, true);
          wf = floor == null ? null : Scenarios.chat(floor, true);
          wg = Scenarios.chat(via, true);
        }
        case CHAIN -> {
          chainD = new Scenarios.Chain(direct, direct, Scenarios.openSessions(http, direct, o.sessions()));
          wf = floor == null ? null : new Scenarios.Chain(floor, floor, Scenarios.openSessions(http, floor, o.sessions()));
          chainG = new Scenarios.Chain(via, via, List.of());
          wd = chainD;
          wg = chainG;
        }
        default -> throw new IllegalStateException(k.id);
      }
    } catch (IllegalStateException e) {
      res.skipped = "setup failed: " + e.getMessage();
      System.out.println("skipped: " + res.skipped);
      return res;
    }
    res.hasFloor = wf != null;
    List<Side3> sides = new ArrayList<>();
    sides.add(new Side3("direct", wd, direct, false));
    if (wf != null) {
      sides.add(new Side3("floor", wf, floor, false));
    }
    sides.add(new Side3(gatewayName, wg, via, true));
    return measureScenario(k, res, http, sides, monitor, gatewayName, gatewayPid, chainD, chainG, rate);
  }

  private Result measureScenario(Scenarios.Kind k, Result res, Http http, List<Side3> sides, ProcStats.Monitor monitor, String gatewayName,
      long gatewayPid, Scenarios.Chain chainD, Scenarios.Chain chainG, double rate) throws Exception {
    long warm = o.warmup().toNanos();
    if (warm > 0) {
      // A ramp (10%, 50%, then 100% of the rate): a cold JVM at full rate falls behind, and the backlog
      // it builds leaves state behind (hundreds of pooled connections) that would then be measured as
      // if it were the steady state. How a cold gateway copes with a full-rate start is a separate question.
      System.out.printf("warm-up: %ds each, ramped 10%% → 50%% → 100%% of the rate%n", o.warmup().toSeconds());
      double[][] ramp = {{0.1, 0.2}, {0.5, 0.3}, {1.0, 0.5}};
      for (Side3 side : sides) {
        for (double[] step : ramp) {
          report(String.format(java.util.Locale.ROOT, "  warm-up %s %.0f/s", side.name(), rate * step[0]),
              measure(http, side, Math.max(1, rate * step[0]), (long) (warm * step[1])));
        }
      }
    }
    Map<String, Long> threadsBefore = new LinkedHashMap<>();
    Map<String, Long> threadsAfter = new LinkedHashMap<>();
    long slice = o.duration().toNanos() / o.rounds();
    for (int r = 0; r < o.rounds(); r++) {
      // The order rotates each round (direct, floor, gateway; then floor, gateway, direct; …), so a drift
      // over time (JIT, caches, the audit file growing) favours no side.
      for (int s = 0; s < sides.size(); s++) {
        Side3 side = sides.get((s + r) % sides.size());
        if (side.gateway()) {
          monitor.begin();
          Map<String, Long> tb = ProcStats.threads(gatewayPid);
          long t0 = System.nanoTime();
          LoadGen.Phase p = measure(http, side, rate, slice);
          double wall = (System.nanoTime() - t0) / 1e9;
          Map<String, Long> ta = ProcStats.threads(gatewayPid);
          ta.forEach((name, v) -> threadsAfter.merge(name, v, Long::sum));
          tb.forEach((name, v) -> threadsBefore.merge(name, v, Long::sum));
          for (ProcStats.Usage u : monitor.end()) {
            res.usage.computeIfAbsent(u.process(), x -> new Usage()).add(u, wall);
          }
          res.gateway.add(p);
          report("  round " + (r + 1) + " " + gatewayName, p);
        } else {
          LoadGen.Phase p = measure(http, side, rate, slice);
          (side.name().equals("floor") ? res.floor : res.direct).add(p);
          report("  round " + (r + 1) + " " + side.name(), p);
        }
      }
    }
    res.gatewayThreads.putAll(ProcStats.threadDelta(threadsBefore, threadsAfter));
    if (chainD != null) {
      res.opsPerChainDirect = chainD.opsPerChain();
      res.opsPerChainGateway = chainG.opsPerChain();
    }
    if (!o.saturation().isZero()) {
      int workers = k == Scenarios.Kind.CHAIN ? Math.max(1, o.concurrency() / 2) : o.concurrency();
      res.saturationDirect = LoadGen.closedLoop(http, sides.get(0).workload(), workers, o.saturation().toNanos());
      report("  saturation direct (" + workers + " workers)", res.saturationDirect);
      if (res.hasFloor) {
        res.saturationFloor = LoadGen.closedLoop(http, sides.get(1).workload(), workers, o.saturation().toNanos());
        report("  saturation floor (" + workers + " workers)", res.saturationFloor);
      }
      monitor.begin();
      long t0 = System.nanoTime();
      res.saturationGateway = LoadGen.closedLoop(http, sides.get(sides.size() - 1).workload(), workers, o.saturation().toNanos());
      double wall = (System.nanoTime() - t0) / 1e9;
      for (ProcStats.Usage u : monitor.end()) {
        res.saturationUsage.computeIfAbsent(u.process(), x -> new Usage()).add(u, wall);
      }
      report("  saturation " + gatewayName + " (" + workers + " workers)", res.saturationGateway);
    }
    System.out.printf("  overhead p50 %+.1f µs, p90 %+.1f µs, p99 %+.1f µs%n",
        (res.gateway.latency.getValueAtPercentile(50) - res.direct.latency.getValueAtPercentile(50)) / 1000.0,
        (res.gateway.latency.getValueAtPercentile(90) - res.direct.latency.getValueAtPercentile(90)) / 1000.0,
        (res.gateway.latency.getValueAtPercentile(99) - res.direct.latency.getValueAtPercentile(99)) / 1000.0);
    if (res.hasFloor) {
      System.out.printf("  floor overhead p50 %+.1f µs, p99 %+.1f µs%n",
          (res.floor.latency.getValueAtPercentile(50) - res.direct.latency.getValueAtPercentile(50)) / 1000.0,
          (res.floor.latency.getValueAtPercentile(99) - res.direct.latency.getValueAtPercentile(99)) / 1000.0);
    }
    return res;
  }

  private static void report(String label, LoadGen.Phase p) {
    System.out.printf("%-44s %8d ok %5d err  %8.0f/s  p50 %8.1f µs  p99 %9.1f µs  max %9.1f µs  late p99 %7.1f µs%s%n", label, p.ok(),
        p.errors(), p.throughput(), p.latency().getValueAtPercentile(50) / 1000.0, p.latency().getValueAtPercentile(99) / 1000.0,
        p.latency().getMaxValue() / 1000.0, p.lateness().getValueAtPercentile(99) / 1000.0,
        p.errors() > 0 ? "  errors: " + p.errorKinds() : "");
  }
}
