package dev.gatehouse.bench;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The options of {@code bench run}. Every phase is bounded: a run's length follows from these numbers
 * and nothing waits without a time limit.
 */
record Options(
    double rate,
    double chainRate,
    double streamRate,
    Duration duration,
    Duration warmup,
    int rounds,
    Duration saturation,
    int concurrency,
    int sessions,
    List<Scenarios.Kind> scenarios,
    boolean jmh,
    List<String> jmhArgs,
    Path gatewayJar,
    List<String> gatewayJvmOpts,
    Path out,
    Path work,
    int streamChunks,
    Duration streamGap,
    int toolRounds,
    boolean jfr,
    boolean asyncProfiler,
    String auditDurability,
    String auditStore,
    String limitsStore,
    boolean floor,
    boolean paced,
    int clients,
    String command) {

  static final List<Scenarios.Kind> DEFAULT_SCENARIOS = List.of(Scenarios.Kind.CHAT, Scenarios.Kind.CHAT_OFF, Scenarios.Kind.STREAM,
      Scenarios.Kind.MCP, Scenarios.Kind.EXECUTE, Scenarios.Kind.CHAIN, Scenarios.Kind.MCP_OFF);
  /** Short JMH runs by default: 2 warm-up and 3 measured iterations of 1 s, one fork. */
  static final List<String> DEFAULT_JMH = List.of("-wi", "2", "-w", "1s", "-i", "3", "-r", "1s", "-f", "1");

  static final String USAGE = """
      usage: bench run [options]
        --rate N               open-loop rate, requests/s, per scenario (default 1000)
        --chain-rate N         open-loop rate of agent chains/s for 'chain' (default rate/10)
        --stream-rate N        open-loop rate of streamed completions/s for 'stream' (default rate/4: each stream is
                               12 events, so 1,000 streams/s would be 12,000 events/s and saturate 2 cores)
        --duration D           measured time per target (direct, gateway) and scenario (default 20s)
        --rounds N             the measured time is split into N alternating direct/gateway rounds (default 2)
        --warmup D             warm-up per target and scenario, ramped 10%%/50%%/100%% of the rate, not recorded (default 30s)
        --saturation D         closed-loop saturation run per target and scenario; 0s skips (default 10s)
        --concurrency N        closed-loop workers (default 32)
        --load MODE            paced (default): --clients clients, each on its own kept-alive connection, together at
                               the rate (each at rate/clients, idle in between); open: one open-loop generator over a
                               shared connection pool
        --clients N            paced clients/connections (default 32)
        --no-floor             skip the floor (nginx as a plain reverse proxy in front of the same mocks)
        --sessions N           MCP sessions the /mcp load is spread over (default 8)
        --scenarios LIST       comma-separated, from: %s
                               (default %s)
        --no-jmh               skip the JMH microbenchmarks
        --jmh-args "ARGS"      JMH options (default "%s"); e.g. "-wi 5 -i 10 -r 5s -f 2" for a long run
        --gateway-jar PATH     the gateway to measure (default mcp-gateway/target/gatehouse.jar)
        --gateway-jvm-opts "O" JVM options for the gateway process (default: those in jvm.options, as scripts/start
                               uses them; "" for none, the JVM's own defaults)
        --stream-chunks N      content chunks of a streamed answer (default 8)
        --stream-gap D         pause between streamed chunks at the mock (default 1ms; 0s = back to back)
        --tool-rounds N        tool calls the mock model asks for before answering (default 2: 5 operations)
        --audit-durability D   audit.durability of the governed gateway: queued or commit (default: the gateway's default, commit)
        --audit-store URL      audit.store of the governed gateway, e.g. postgresql://user@127.0.0.1:5432/db (default: SQLite next to its config)
        --limits-store URL     limits.store of the governed gateway, e.g. redis://127.0.0.1:6379 (default: memory)
        --async-profiler       profile each gateway's CPU (Java, JIT, GC and kernel frames) with async-profiler; summarise
                               <work>/<gateway>.collapsed with `java -jar bench/target/gatehouse-bench.jar profile-top FILE`
        --jfr                  record the gateway with Java Flight Recorder (profile settings) during the run
        --out DIR              where <timestamp>.json and .md go (default bench/results)
        --work DIR             configs, audit stores, logs, JFR files (default bench/target/bench-work/<timestamp>)
      Durations: 500ms, 20s, 2m.""".formatted(Scenarios.Kind.ids(),
      String.join(",", DEFAULT_SCENARIOS.stream().map(k -> k.id).toList()), String.join(" ", DEFAULT_JMH));

  static Options parse(List<String> args, String stamp) {
    double rate = 1000;
    double chainRate = -1;
    double streamRate = -1;
    Duration duration = Duration.ofSeconds(20);
    Duration warmup = Duration.ofSeconds(30);
    int rounds = 2;
    Duration saturation = Duration.ofSeconds(10);
    int concurrency = 32;
    int sessions = 8;
    List<Scenarios.Kind> scenarios = DEFAULT_SCENARIOS;
    boolean jmh = true;
    List<String> jmhArgs = DEFAULT_JMH;
    Path jar = Path.of("mcp-gateway/target/gatehouse.jar");
    List<String> jvm = recommendedJvmOptions();
    Path out = Path.of("bench/results");
    Path work = null;
    int chunks = 8;
    Duration gap = Duration.ofMillis(1);
    int toolRounds = 2;
    boolean jfr = false;
    boolean asyncProfiler = false;
    String durability = "";
    String auditStore = "";
    String limitsStore = "";
    boolean floor = true;
    boolean paced = true;
    int clients = 32;
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      switch (a) {
        case "--no-jmh" -> jmh = false;
        case "--no-floor" -> floor = false;
        case "--jfr" -> jfr = true;
        case "--async-profiler" -> asyncProfiler = true;
        case "-h", "--help" -> throw new Usage(USAGE);
        default -> {
          if (i + 1 >= args.size()) {
            throw new Usage("option " + a + " needs a value\n" + USAGE);
          }
          String v = args.get(++i);
          switch (a) {
            case "--rate" -> rate = positive(a, Double.parseDouble(v));
            case "--chain-rate" -> chainRate = positive(a, Double.parseDouble(v));
            case "--stream-rate" -> streamRate = positive(a, Double.parseDouble(v));
            case "--duration" -> duration = duration(a, v, false);
            case "--warmup" -> warmup = duration(a, v, true);
            case "--rounds" -> rounds = (int) positive(a, Integer.parseInt(v));
            case "--saturation" -> saturation = duration(a, v, true);
            case "--concurrency" -> concurrency = (int) positive(a, Integer.parseInt(v));
            case "--sessions" -> sessions = (int) positive(a, Integer.parseInt(v));
            case "--scenarios" -> {
              List<Scenarios.Kind> list = new ArrayList<>();
              for (String s : v.split(",")) {
                if (!s.isBlank()) {
                  Scenarios.Kind k = Scenarios.Kind.of(s);
                  if (!list.contains(k)) {
                    list.add(k);
                  }
                }
              }
              if (list.isEmpty()) {
                throw new Usage("--scenarios: empty (expected some of: " + Scenarios.Kind.ids() + ")");
              }
              scenarios = List.copyOf(list);
            }
            case "--jmh-args" -> jmhArgs = List.of(v.trim().split("\\s+"));
            case "--gateway-jar" -> jar = Path.of(v);
            case "--gateway-jvm-opts" -> jvm = v.isBlank() ? List.of() : List.of(v.trim().split("\\s+"));
            case "--stream-chunks" -> chunks = (int) positive(a, Integer.parseInt(v));
            case "--stream-gap" -> gap = duration(a, v, true);
            case "--tool-rounds" -> toolRounds = (int) positive(a, Integer.parseInt(v));
            case "--audit-store" -> auditStore = v;
            case "--limits-store" -> limitsStore = v;
            case "--audit-durability" -> {
              if (!v.equals("queued") && !v.equals("commit")) {
                throw new Usage("--audit-durability: '" + v + "' (expected: queued or commit)");
              }
              durability = v;
            }
            case "--load" -> {
              if (!v.equals("paced") && !v.equals("open")) {
                throw new Usage("--load: '" + v + "' (expected: paced or open)");
              }
              paced = v.equals("paced");
            }
            case "--clients" -> clients = (int) positive(a, Integer.parseInt(v));
            case "--out" -> out = Path.of(v);
            case "--work" -> work = Path.of(v);
            default -> throw new Usage("unknown option " + a + "\n" + USAGE);
          }
        }
      }
    }
    if (work == null) {
      work = Path.of("bench/target/bench-work", stamp);
    }
    return new Options(rate, chainRate > 0 ? chainRate : rate / 10, streamRate > 0 ? streamRate : rate / 4, duration, warmup, rounds, saturation, concurrency, sessions, scenarios,
        jmh, jmhArgs, jar, jvm, out, work, chunks, gap, toolRounds, jfr, asyncProfiler, durability, auditStore, limitsStore, floor, paced, clients,
        "bench run " + String.join(" ", args));
  }

  /** The options in {@code jvm.options} (the working directory is the repository's root), else none. */
  static List<String> recommendedJvmOptions() {
    Path file = Path.of("jvm.options");
    if (!java.nio.file.Files.isRegularFile(file)) {
      return List.of();
    }
    try {
      return java.nio.file.Files.readAllLines(file).stream().map(String::strip)
          .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException("cannot read " + file.toAbsolutePath(), e);
    }
  }

  /** The governed gateway's audit durability as the report names it. */
  String effectiveDurability() {
    return auditDurability.isEmpty() ? "commit" : auditDurability;
  }

  /** A usage error: the message is printed and the exit status is 2. */
  static final class Usage extends RuntimeException {
    Usage(String message) {
      super(message, null, false, false);
    }
  }

  private static double positive(String option, double v) {
    if (!(v > 0)) {
      throw new Usage(option + ": " + v + " (expected: > 0)");
    }
    return v;
  }

  static Duration duration(String option, String v, boolean zeroOk) {
    String s = v.trim().toLowerCase(Locale.ROOT);
    Duration d;
    try {
      if (s.endsWith("ms")) {
        d = Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2)));
      } else if (s.endsWith("s")) {
        d = Duration.ofMillis(Math.round(Double.parseDouble(s.substring(0, s.length() - 1)) * 1000));
      } else if (s.endsWith("m")) {
        d = Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1)) * 60);
      } else {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new Usage(option + ": '" + v + "' (expected a duration with a unit: 500ms, 20s, 2m)");
    }
    if (d.isNegative() || (!zeroOk && d.isZero()) || d.compareTo(Duration.ofHours(1)) > 0) {
      throw new Usage(option + ": '" + v + "' (expected: " + (zeroOk ? ">= 0" : "> 0") + " and at most 1h)");
    }
    return d;
  }
}
