package dev.gatehouse.bench;

import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/** The run's results as machine-readable JSON and as a Markdown report. */
final class Report {
  static final double[] PERCENTILES = {50, 90, 99, 99.9};

  private Report() {}

  /** The whole run. */
  record Run(String stamp, Instant started, Instant finished, Options options, Machine machine, List<BenchRun.Result> results,
      List<Jmh> jmh, Map<String, String> audit, List<String> notes) {}

  /** One JMH result line. */
  record Jmh(String benchmark, String params, String mode, double score, double error, String unit) {}

  /** The machine the run measured on. */
  record Machine(String cpu, int cores, long memoryMb, String os, String kernel, String java, String javaHome) {
    static Machine describe(Path java) {
      String cpu = "unknown";
      long mem = -1;
      String os = "unknown";
      String kernel = "unknown";
      try {
        cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name")).findFirst()
            .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
        mem = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal")).findFirst()
            .map(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) / 1024).orElse(-1L);
        os = Files.readAllLines(Path.of("/etc/os-release")).stream().filter(l -> l.startsWith("PRETTY_NAME=")).findFirst()
            .map(l -> l.substring(12).replace("\"", "")).orElse(os);
        kernel = Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
      } catch (IOException | RuntimeException ignored) {
        // best effort: a field stays unknown
      }
      String jv = System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version");
      return new Machine(cpu, Runtime.getRuntime().availableProcessors(), mem, os, kernel, jv, java.toString());
    }

    String summary() {
      return String.format(Locale.ROOT, "%s, %d cores, %.1f GiB, %s (kernel %s), %s", cpu, cores, memoryMb / 1024.0, os, kernel, java);
    }
  }

  /** The command line that reproduces the run. */
  static String command(Options o) {
    return ("scripts/bench " + o.command().substring("bench run".length()).trim()).strip();
  }

  static double us(long nanos) {
    return nanos / 1000.0;
  }

  static String fmt(double us) {
    return us >= 10_000 ? String.format(Locale.ROOT, "%,.0f", us) : String.format(Locale.ROOT, "%,.1f", us);
  }

  static String signed(double us) {
    return (us >= 0 ? "+" : "−") + fmt(Math.abs(us));
  }

  // ---------------------------------------------------------------- JSON

  static void writeJson(Run run, Path file) throws IOException {
    ObjectNode root = Scenarios.JSON.createObjectNode();
    root.put("schema", "gatehouse-bench/1");
    root.put("timestamp", run.stamp());
    root.put("started", run.started().toString());
    root.put("finished", run.finished().toString());
    root.put("command", command(run.options()));
    ObjectNode m = root.putObject("machine");
    m.put("cpu", run.machine().cpu());
    m.put("cores", run.machine().cores());
    m.put("memory_mb", run.machine().memoryMb());
    m.put("os", run.machine().os());
    m.put("kernel", run.machine().kernel());
    m.put("java", run.machine().java());
    m.put("note", "load generator, mocks and gateway share these cores; nothing is pinned");
    Options o = run.options();
    ObjectNode opts = root.putObject("options");
    opts.put("rate", o.rate());
    opts.put("chain_rate", o.chainRate());
    opts.put("stream_rate", o.streamRate());
    opts.put("duration_s", o.duration().toMillis() / 1000.0);
    opts.put("rounds", o.rounds());
    opts.put("warmup_s", o.warmup().toMillis() / 1000.0);
    opts.put("saturation_s", o.saturation().toMillis() / 1000.0);
    opts.put("concurrency", o.concurrency());
    opts.put("sessions", o.sessions());
    opts.put("stream_chunks", o.streamChunks());
    opts.put("stream_gap_us", o.streamGap().toNanos() / 1000);
    opts.put("tool_rounds", o.toolRounds());
    opts.put("gateway_jar", o.gatewayJar().toString());
    opts.put("gateway_jvm_opts", String.join(" ", o.gatewayJvmOpts()));
    ArrayNode scen = root.putArray("scenarios");
    for (BenchRun.Result r : run.results()) {
      ObjectNode s = scen.addObject();
      s.put("id", r.kind.id);
      s.put("title", r.kind.title);
      s.put("identity_policy_audit", r.kind.governed);
      s.put("rate", r.rate);
      if (r.skipped != null) {
        s.put("skipped", r.skipped);
        continue;
      }
      s.set("direct", side(r.direct));
      if (r.hasFloor) {
        s.set("floor", side(r.floor));
      }
      s.set("gateway", side(r.gateway));
      ObjectNode over = s.putObject("overhead_us");
      for (double p : PERCENTILES) {
        over.put(key(p), us(r.gateway.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p)));
      }
      over.put("max", us(r.gateway.latency.getMaxValue() - r.direct.latency.getMaxValue()));
      if (r.hasFloor) {
        ObjectNode fo = s.putObject("floor_overhead_us");
        ObjectNode times = s.putObject("overhead_vs_floor");
        for (double p : PERCENTILES) {
          double f = us(r.floor.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p));
          fo.put(key(p), f);
          times.put(key(p), ratio(us(r.gateway.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p)), f));
        }
      }
      if (r.kind == Scenarios.Kind.STREAM) {
        ObjectNode ttfb = s.putObject("first_token_overhead_us");
        for (double p : PERCENTILES) {
          ttfb.put(key(p), us(r.gateway.firstByte.getValueAtPercentile(p) - r.direct.firstByte.getValueAtPercentile(p)));
        }
      }
      if (r.kind == Scenarios.Kind.CHAIN) {
        s.put("operations_per_chain_direct", r.opsPerChainDirect);
        s.put("operations_per_chain_gateway", r.opsPerChainGateway);
      }
      if (r.saturationDirect != null) {
        ObjectNode sat = s.putObject("saturation");
        sat.put("workers", r.kind == Scenarios.Kind.CHAIN ? Math.max(1, o.concurrency() / 2) : o.concurrency());
        sat.put("direct_per_s", r.saturationDirect.throughput());
        if (r.saturationFloor != null) {
          sat.put("floor_per_s", r.saturationFloor.throughput());
          sat.put("gateway_vs_floor", r.saturationGateway.throughput() / Math.max(1e-9, r.saturationFloor.throughput()));
        }
        sat.put("gateway_per_s", r.saturationGateway.throughput());
        sat.put("direct_errors", r.saturationDirect.errors());
        sat.put("gateway_errors", r.saturationGateway.errors());
        sat.put("gateway_p50_us", us(r.saturationGateway.latency().getValueAtPercentile(50)));
        sat.put("gateway_p99_us", us(r.saturationGateway.latency().getValueAtPercentile(99)));
        sat.set("resources", usage(r.saturationUsage, r.saturationGateway.ok()));
      }
      s.set("resources", usage(r.usage, r.gateway.ok));
      ObjectNode th = s.putObject("gateway_cpu_seconds_by_thread");
      r.gatewayThreads.forEach(th::put);
    }
    ArrayNode goals = root.putArray("goals");
    for (Goal g : goals(run)) {
      ObjectNode j = goals.addObject();
      j.put("goal", g.goal);
      j.put("target", g.target);
      j.put("measured", g.measured);
      j.put("status", g.status);
    }
    ArrayNode jmh = root.putArray("jmh");
    for (Jmh j : run.jmh()) {
      ObjectNode n = jmh.addObject();
      n.put("benchmark", j.benchmark());
      n.put("params", j.params());
      n.put("mode", j.mode());
      n.put("score", j.score());
      n.put("error", j.error());
      n.put("unit", j.unit());
    }
    ObjectNode audit = root.putObject("audit");
    run.audit().forEach(audit::put);
    ArrayNode notes = root.putArray("notes");
    run.notes().forEach(notes::add);
    Files.write(file, Scenarios.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(root));
  }

  /** {@code gateway / floor}, or NaN when the floor's overhead is too small to divide by (under 1 µs). */
  static double ratio(double gatewayUs, double floorUs) {
    return floorUs < 1 ? Double.NaN : gatewayUs / floorUs;
  }

  static String times(double r) {
    return Double.isNaN(r) ? "—" : String.format(Locale.ROOT, "%.1f×", r);
  }

  private static String key(double p) {
    return p == 99.9 ? "p99_9" : "p" + (int) p;
  }

  private static ObjectNode side(BenchRun.Side s) {
    ObjectNode n = Scenarios.JSON.createObjectNode();
    n.put("ok", s.ok);
    n.put("errors", s.errors);
    n.put("unfinished", s.unfinished);
    n.put("throughput_per_s", s.throughput());
    ObjectNode lat = n.putObject("latency_us");
    for (double p : PERCENTILES) {
      lat.put(key(p), us(s.latency.getValueAtPercentile(p)));
    }
    lat.put("max", us(s.latency.getMaxValue()));
    lat.put("mean", s.latency.getMean() / 1000.0);
    ObjectNode fb = n.putObject("first_byte_us");
    for (double p : PERCENTILES) {
      fb.put(key(p), us(s.firstByte.getValueAtPercentile(p)));
    }
    fb.put("max", us(s.firstByte.getMaxValue()));
    ObjectNode late = n.putObject("loadgen_send_lateness_us");
    late.put("p50", us(s.lateness.getValueAtPercentile(50)));
    late.put("p99", us(s.lateness.getValueAtPercentile(99)));
    late.put("max", us(s.lateness.getMaxValue()));
    if (!s.errorKinds.isEmpty()) {
      ObjectNode e = n.putObject("error_kinds");
      s.errorKinds.forEach(e::put);
    }
    n.put("latency_histogram_hdr_base64", encode(s.latency));
    return n;
  }

  private static ObjectNode usage(Map<String, BenchRun.Usage> usage, long requests) {
    ObjectNode n = Scenarios.JSON.createObjectNode();
    usage.forEach((name, u) -> {
      ObjectNode p = n.putObject(name);
      p.put("cpu_seconds", u.cpuSeconds);
      p.put("cpu_cores", u.cores());
      if (requests > 0) {
        p.put("cpu_us_per_request", u.cpuSeconds * 1e6 / requests);
      }
      p.put("rss_max_mb", u.rssMaxKb / 1024.0);
      p.put("rss_end_mb", u.rssEndKb / 1024.0);
      p.put("rss_peak_hwm_mb", u.hwmKb / 1024.0);
    });
    return n;
  }

  private static String encode(Histogram h) {
    ByteBuffer b = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
    int n = h.encodeIntoCompressedByteBuffer(b);
    byte[] out = new byte[n];
    b.flip();
    b.get(out);
    return Base64.getEncoder().encodeToString(out);
  }

  // ---------------------------------------------------------------- goals

  record Goal(String goal, String target, String measured, String status) {}

  /** Issue 10's goals: overhead against the nginx floor, absolute overhead with everything on, saturation, CPU, RSS. */
  static List<Goal> goals(Run run) {
    List<Goal> out = new ArrayList<>();
    for (Scenarios.Kind off : List.of(Scenarios.Kind.MCP_OFF, Scenarios.Kind.EXECUTE_OFF, Scenarios.Kind.CHAT_OFF)) {
      out.add(floorGoal("p50 overhead, identity/policy/audit off, `" + off.id + "`", find(run, off), 50, 2.0));
    }
    for (Scenarios.Kind on : List.of(Scenarios.Kind.MCP, Scenarios.Kind.EXECUTE, Scenarios.Kind.CHAT)) {
      out.add(overheadGoal("p50 overhead, identity/policy/audit on, `" + on.id + "`", find(run, on), 50, 100));
    }
    for (Scenarios.Kind k : List.of(Scenarios.Kind.MCP, Scenarios.Kind.EXECUTE, Scenarios.Kind.CHAT, Scenarios.Kind.MCP_OFF)) {
      out.add(overheadGoal("p99 overhead, `" + k.id + "`", find(run, k), 99, 1000));
    }
    out.add(overheadGoal("agentic chain (5 operations), total p50 overhead", find(run, Scenarios.Kind.CHAIN), 50, 500));
    for (Scenarios.Kind k : List.of(Scenarios.Kind.MCP_OFF, Scenarios.Kind.MCP, Scenarios.Kind.CHAT)) {
      BenchRun.Result r = find(run, k);
      String name = "closed-loop saturation ≥ 50% of the floor's, `" + k.id + "`";
      if (r == null || r.skipped != null || r.saturationGateway == null || r.saturationFloor == null) {
        out.add(new Goal(name, "≥ 50%", "not run", "PENDING"));
      } else {
        double share = r.saturationGateway.throughput() / Math.max(1e-9, r.saturationFloor.throughput());
        out.add(new Goal(name, "≥ 50%", String.format(Locale.ROOT, "%.0f%% (%,.0f vs %,.0f /s)", share * 100,
            r.saturationGateway.throughput(), r.saturationFloor.throughput()), share >= 0.5 ? "MET" : "MISSED"));
      }
    }
    // Before this work (docs/benchmarks.md, run 20261121T084819Z): mcp 315 µs, chat 335 µs of CPU per request.
    out.add(cpuGoal("CPU per request halved, `mcp` (was 315 µs)", find(run, Scenarios.Kind.MCP), 315 / 2.0));
    out.add(cpuGoal("CPU per request halved, `chat` (was 335 µs)", find(run, Scenarios.Kind.CHAT), 335 / 2.0));
    long rss = -1;
    for (BenchRun.Result r : run.results()) {
      if (r.skipped == null) {
        for (Map<String, BenchRun.Usage> m : List.of(r.usage, r.saturationUsage)) {
          for (String g : List.of("gateway", "gateway-off")) {
            BenchRun.Usage u = m.get(g);
            if (u != null) {
              rss = Math.max(rss, u.rssMaxKb);
            }
          }
        }
      }
    }
    out.add(new Goal("gateway RSS under every scenario (saturation included)", "≤ 200 MB",
        rss < 0 ? "—" : String.format(Locale.ROOT, "%.0f MB", rss / 1024.0), rss < 0 ? "PENDING" : rss <= 200 * 1024 ? "MET" : "MISSED"));
    return out;
  }

  private static Goal floorGoal(String name, BenchRun.Result r, double p, double maxTimes) {
    String target = "≤ " + String.format(Locale.ROOT, "%.0f", maxTimes) + "× the floor's";
    if (r == null || r.skipped != null || !r.hasFloor) {
      return new Goal(name, target, r == null ? "not run" : r.skipped != null ? "skipped: " + r.skipped : "no floor", "PENDING");
    }
    double g = us(r.gateway.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p));
    double f = us(r.floor.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p));
    double x = ratio(g, f);
    String m = signed(g) + " µs vs floor " + signed(f) + " µs (" + times(x) + ")";
    String status = r.gateway.errors > 0 || r.direct.errors > 0 || r.floor.errors > 0 ? "INVALID (errors)"
        : Double.isNaN(x) ? "—" : x <= maxTimes ? "MET" : "MISSED";
    return new Goal(name, target, m, status);
  }

  private static Goal cpuGoal(String name, BenchRun.Result r, double maxUs) {
    String target = "≤ " + fmt(maxUs) + " µs";
    if (r == null || r.skipped != null) {
      return new Goal(name, target, "not run", "PENDING");
    }
    BenchRun.Usage u = r.usage.get(r.kind.governed ? "gateway" : "gateway-off");
    if (u == null || r.gateway.ok == 0) {
      return new Goal(name, target, "—", "PENDING");
    }
    double v = u.cpuSeconds * 1e6 / r.gateway.ok;
    return new Goal(name, target, String.format(Locale.ROOT, "%.0f µs", v), v <= maxUs ? "MET" : "MISSED");
  }

  private static Goal overheadGoal(String name, BenchRun.Result r, double p, double limitUs) {
    String target = "≤ " + fmt(limitUs) + " µs";
    if (r == null) {
      return new Goal(name, target, "not run", "PENDING");
    }
    if (r.skipped != null) {
      return new Goal(name, target, "skipped: " + r.skipped, "PENDING");
    }
    double v = us(r.gateway.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p));
    String m = signed(v) + " µs at " + String.format(Locale.ROOT, "%.0f", r.rate) + "/s";
    String status = r.gateway.errors > 0 || r.direct.errors > 0 ? "INVALID (errors)" : v <= limitUs ? "MET" : "MISSED";
    return new Goal(name, target, m, status);
  }

  private static BenchRun.Result find(Run run, Scenarios.Kind k) {
    return run.results().stream().filter(r -> r.kind == k).findFirst().orElse(null);
  }

  // ---------------------------------------------------------------- Markdown

  static String markdown(Run run) {
    Options o = run.options();
    StringBuilder md = new StringBuilder();
    md.append("# Gatehouse benchmark ").append(run.stamp()).append("\n\n");
    md.append("- **Command**: `").append(command(o)).append("`\n");
    md.append("- **Machine**: ").append(run.machine().summary()).append(". The load generator, the mocks and the gateway share these cores; nothing is pinned.\n");
    md.append(String.format(Locale.ROOT, "- **Load**: %s at %.0f/s (chains: %.0f/s, streams: %.0f/s), %ds measured per target in %d rotating rounds after %ds warm-up; "
        + "latency from the intended start (coordinated-omission corrected); saturation: closed loop, %d workers, %ds.\n",
        o.paced() ? "paced, " + o.clients() + " clients each on its own kept-alive connection (each at rate/" + o.clients() + ", idle in between)"
            : "open loop over a shared connection pool",
        o.rate(), o.chainRate(), o.streamRate(), o.duration().toSeconds(), o.rounds(), o.warmup().toSeconds(), o.concurrency(), o.saturation().toSeconds()));
    md.append("- **Targets**: `direct` is the mock itself; `floor` is nginx as a plain reverse proxy in front of it (what any proxy hop "
        + "costs here); `gateway` is Gatehouse. Overheads are against `direct`; `÷ floor` is the gateway's overhead as a multiple of the floor's.\n");
    String arenas = System.getenv("MALLOC_ARENA_MAX");
    md.append("- **Gateway**: `").append(arenas == null ? "" : "MALLOC_ARENA_MAX=" + arenas + " ").append("java ").append(String.join(" ", o.gatewayJvmOpts())).append(o.gatewayJvmOpts().isEmpty() ? "" : " ")
        .append("-jar ").append(o.gatewayJar()).append("`, a separate process; \"on\" = API-key identity, 2 policy rules "
            + "(allow + argument check + rate limit, deny), SQLite chain audit with `durability: " + o.effectiveDurability() + "`"
            + (o.auditDurability().isEmpty() ? " (the default)" : "") + ".\n\n");

    md.append("## Latency, µs (" + (o.paced() ? "paced" : "open loop") + ", CO-corrected)\n\n");
    md.append("| scenario | rate | target | ok | err | p50 | p90 | p99 | p99.9 | max |\n|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
    List<String> skipped = new ArrayList<>();
    for (BenchRun.Result r : run.results()) {
      if (r.skipped != null) {
        skipped.add("- `" + r.kind.id + "` " + r.kind.title + ": **skipped**, " + r.skipped);
        continue;
      }
      String rate = String.format(Locale.ROOT, "%.0f/s", r.rate);
      row(md, r.kind.id, rate, "direct", r.direct, r.direct.latency);
      if (r.hasFloor) {
        row(md, "", "", "floor (nginx)", r.floor, r.floor.latency);
      }
      row(md, "", "", "gateway", r.gateway, r.gateway.latency);
      if (r.hasFloor) {
        md.append("| | | floor overhead | | |");
        for (double p : PERCENTILES) {
          md.append(' ').append(signed(us(r.floor.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p)))).append(" |");
        }
        md.append(" |\n");
      }
      md.append("| | | **gateway overhead** | | |");
      for (double p : PERCENTILES) {
        md.append(" **").append(signed(us(r.gateway.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p)))).append("** |");
      }
      md.append(" ").append(signed(us(r.gateway.latency.getMaxValue() - r.direct.latency.getMaxValue()))).append(" |\n");
      if (r.hasFloor) {
        md.append("| | | **÷ floor** | | |");
        for (double p : PERCENTILES) {
          md.append(" **").append(times(ratio(us(r.gateway.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p)),
              us(r.floor.latency.getValueAtPercentile(p) - r.direct.latency.getValueAtPercentile(p))))).append("** |");
        }
        md.append(" |\n");
      }
      if (r.kind == Scenarios.Kind.STREAM) {
        row(md, "stream: first token", "", "direct", r.direct, r.direct.firstByte);
        row(md, "", "", "gateway", r.gateway, r.gateway.firstByte);
        md.append("| | | **first-token overhead** | | |");
        for (double p : PERCENTILES) {
          md.append(" **").append(signed(us(r.gateway.firstByte.getValueAtPercentile(p) - r.direct.firstByte.getValueAtPercentile(p))))
              .append("** |");
        }
        md.append(" |\n");
      }
    }
    md.append('\n');
    if (!skipped.isEmpty()) {
      md.append(String.join("\n", skipped)).append("\n\n");
    }
    for (BenchRun.Result r : run.results()) {
      if (r.skipped == null && r.kind == Scenarios.Kind.CHAIN) {
        md.append(String.format(Locale.ROOT, "Chain: %.1f operations per chain directly, %.1f through the gateway.%n%n",
            r.opsPerChainDirect, r.opsPerChainGateway));
      }
    }

    md.append("## Saturation (closed loop) and gateway resources\n\n");
    md.append("| scenario | direct /s | floor /s | gateway /s | gateway ÷ floor | gateway CPU at rate (cores) | CPU µs/request | RSS max at rate | "
        + "gateway CPU saturated (cores) | RSS max saturated |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (BenchRun.Result r : run.results()) {
      if (r.skipped != null) {
        continue;
      }
      String gwName = r.kind.governed ? "gateway" : "gateway-off";
      BenchRun.Usage u = r.usage.get(gwName);
      BenchRun.Usage su = r.saturationUsage.get(gwName);
      md.append("| ").append(r.kind.id).append(" | ")
          .append(r.saturationDirect == null ? "—" : String.format(Locale.ROOT, "%,.0f", r.saturationDirect.throughput())).append(" | ")
          .append(r.saturationFloor == null ? "—" : String.format(Locale.ROOT, "%,.0f", r.saturationFloor.throughput())).append(" | ")
          .append(r.saturationGateway == null ? "—" : String.format(Locale.ROOT, "%,.0f", r.saturationGateway.throughput())).append(" | ")
          .append(r.saturationGateway == null || r.saturationFloor == null ? "—" : String.format(Locale.ROOT, "%.0f%%",
              100 * r.saturationGateway.throughput() / Math.max(1e-9, r.saturationFloor.throughput()))).append(" | ")
          .append(u == null ? "—" : String.format(Locale.ROOT, "%.2f", u.cores())).append(" | ")
          .append(u == null || r.gateway.ok == 0 ? "—" : String.format(Locale.ROOT, "%.0f", u.cpuSeconds * 1e6 / r.gateway.ok)).append(" | ")
          .append(u == null ? "—" : String.format(Locale.ROOT, "%.0f MB", u.rssMaxKb / 1024.0)).append(" | ")
          .append(su == null ? "—" : String.format(Locale.ROOT, "%.2f", su.cores())).append(" | ")
          .append(su == null ? "—" : String.format(Locale.ROOT, "%.0f MB", su.rssMaxKb / 1024.0)).append(" |\n");
    }
    md.append("\nOther processes during the gateway's measured phases (cores): ");
    List<String> others = new ArrayList<>();
    for (BenchRun.Result r : run.results()) {
      if (r.skipped == null) {
        BenchRun.Usage m = r.usage.get("mocks");
        BenchRun.Usage l = r.usage.get("loadgen");
        others.add(String.format(Locale.ROOT, "%s: mocks %.2f, load generator %.2f", r.kind.id, m == null ? 0 : m.cores(), l == null ? 0 : l.cores()));
      }
    }
    md.append(others.isEmpty() ? "—" : String.join("; ", others)).append(".\n\n");
    md.append("Load-generator send lateness p99 (µs, direct / gateway): ");
    List<String> late = new ArrayList<>();
    for (BenchRun.Result r : run.results()) {
      if (r.skipped == null) {
        late.add(r.kind.id + " " + fmt(us(r.direct.lateness.getValueAtPercentile(99))) + " / " + fmt(us(r.gateway.lateness.getValueAtPercentile(99))));
      }
    }
    md.append(late.isEmpty() ? "—" : String.join("; ", late)).append(".\n\n");

    md.append("## Where the gateway's CPU goes\n\nCPU seconds by thread group over the gateway's measured open-loop phases "
        + "(from /proc/<pid>/task; virtual threads run on the ForkJoinPool workers):\n\n");
    for (BenchRun.Result r : run.results()) {
      if (r.skipped != null || r.gatewayThreads.isEmpty()) {
        continue;
      }
      double total = r.gatewayThreads.values().stream().mapToDouble(Double::doubleValue).sum();
      List<String> parts = new ArrayList<>();
      r.gatewayThreads.entrySet().stream().limit(8).forEach(e -> parts.add(String.format(Locale.ROOT, "%s %.0f%%", e.getKey(),
          100 * e.getValue() / total)));
      md.append("- `").append(r.kind.id).append("` (").append(String.format(Locale.ROOT, "%.1f s", total)).append("): ")
          .append(String.join(", ", parts)).append('\n');
    }
    md.append('\n');

    md.append("## Goals (tracked here, never asserted in tests)\n\n| goal | target | measured | status |\n|---|---|---|---|\n");
    for (Goal g : goals(run)) {
      md.append("| ").append(g.goal).append(" | ").append(g.target).append(" | ").append(g.measured).append(" | **").append(g.status).append("** |\n");
    }
    md.append('\n');

    if (!run.jmh().isEmpty()) {
      md.append("## JMH microbenchmarks\n\n| benchmark | params | mode | score | ± error | unit |\n|---|---|---|---:|---:|---|\n");
      for (Jmh j : run.jmh()) {
        md.append("| ").append(j.benchmark()).append(" | ").append(j.params().isEmpty() ? "—" : j.params()).append(" | ").append(j.mode())
            .append(" | ").append(String.format(Locale.ROOT, "%,.3f", j.score())).append(" | ")
            .append(Double.isNaN(j.error()) ? "—" : String.format(Locale.ROOT, "%,.3f", j.error())).append(" | ").append(j.unit()).append(" |\n");
      }
      md.append('\n');
    }
    if (!run.audit().isEmpty()) {
      md.append("## Audit\n\n`gatehouse audit verify` on the governed gateway's store after the run: ")
          .append(run.audit().getOrDefault("verify", "—")).append("\n\n");
    }
    if (!run.notes().isEmpty()) {
      md.append("## Notes\n\n");
      run.notes().forEach(n -> md.append("- ").append(n).append('\n'));
      md.append('\n');
    }
    return md.toString();
  }

  private static void row(StringBuilder md, String scenario, String rate, String target, BenchRun.Side s, Histogram h) {
    md.append("| ").append(scenario).append(" | ").append(rate).append(" | ").append(target).append(" | ")
        .append(String.format(Locale.ROOT, "%,d", s.ok)).append(" | ").append(s.errors).append(" |");
    for (double p : PERCENTILES) {
      md.append(' ').append(fmt(us(h.getValueAtPercentile(p)))).append(" |");
    }
    md.append(' ').append(fmt(us(h.getMaxValue()))).append(" |\n");
  }
}
