package dev.gatehouse.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar gatehouse-bench.jar COMMAND}:
 * <ul>
 *   <li>{@code run [options]}: the whole benchmark (see {@link Options#USAGE}); what {@code scripts/bench} runs;
 *   <li>{@code mocks --port N}: the mock model and MCP tool server, until stopped;
 *   <li>{@code jmh [JMH options]}: only the microbenchmarks (JMH's own command line);
 *   <li>{@code jfr-top FILE [N]}: the hottest frames of a flight recording;
 *   <li>{@code profile-top FILE [N]}: where the CPU went in an async-profiler recording (collapsed stacks).
 * </ul>
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: gatehouse-bench.jar run|mocks|jmh|jfr-top|profile-top ...\n\n" + Options.USAGE);
      System.exit(2);
    }
    List<String> rest = Arrays.asList(args).subList(1, args.length);
    try {
      switch (args[0]) {
        case "run" -> run(rest);
        case "mocks" -> mocks(rest);
        case "jmh" -> org.openjdk.jmh.Main.main(rest.toArray(String[]::new));
        case "jfr-top" -> JfrTop.main(rest);
        case "profile-top" -> AsyncProfiler.top(rest);
        default -> throw new Options.Usage("unknown command '" + args[0] + "' (expected: run, mocks, jmh, jfr-top, profile-top)");
      }
    } catch (Options.Usage e) {
      System.err.println(e.getMessage());
      System.exit(2);
    }
  }

  private static void run(List<String> args) throws Exception {
    String stamp = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"));
    Options o = Options.parse(args, stamp);
    Report.Run run = new BenchRun(o, stamp).run();
    Path json = o.out().resolve(stamp + ".json");
    Path md = o.out().resolve(stamp + ".md");
    Report.writeJson(run, json);
    String text = Report.markdown(run);
    Files.writeString(md, text);
    System.out.println("\n" + text);
    System.out.println("results: " + json + " and " + md);
    System.exit(0); // the load generator's client threads are daemons; JMH may leave others
  }

  private static void mocks(List<String> args) throws Exception {
    String host = "127.0.0.1";
    int port = 0;
    int chunks = 8;
    long gapUs = 1000;
    int toolRounds = 2;
    for (int i = 0; i + 1 < args.size(); i += 2) {
      String v = args.get(i + 1);
      switch (args.get(i)) {
        case "--host" -> host = v;
        case "--port" -> port = Integer.parseInt(v);
        case "--stream-chunks" -> chunks = Integer.parseInt(v);
        case "--stream-gap-us" -> gapUs = Long.parseLong(v);
        case "--tool-rounds" -> toolRounds = Integer.parseInt(v);
        default -> throw new Options.Usage("mocks: unknown option " + args.get(i)
            + " (expected: --host, --port, --stream-chunks, --stream-gap-us, --tool-rounds)");
      }
    }
    MockUpstreams m = MockUpstreams.start(host, port, chunks, gapUs * 1000, toolRounds);
    System.out.println("mocks listening on http://" + host + ":" + m.port() + " (model: /v1/chat/completions, MCP: /mcp)");
    CountDownLatch stop = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        m.close();
      } catch (Exception ignored) {
        // exiting anyway
      }
      stop.countDown();
    }));
    stop.await();
  }
}
