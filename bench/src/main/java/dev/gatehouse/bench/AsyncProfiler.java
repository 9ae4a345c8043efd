package dev.gatehouse.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * async-profiler for the gateway processes: the agent library comes from the {@code async-profiler}
 * jar on this jar's class path and is unpacked into the work directory; {@link #top} summarises the
 * collapsed stacks it writes (one line per distinct stack: frames joined by {@code ;}, then a count).
 */
final class AsyncProfiler {
  private AsyncProfiler() {}

  /** The agent for this machine, unpacked once into {@code work}. */
  static synchronized Path library(Path work) throws IOException {
    String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch");
    String dir = os.contains("mac") ? "macos"
        : os.contains("linux") && (arch.equals("amd64") || arch.equals("x86_64")) ? "linux-x64"
        : os.contains("linux") && arch.equals("aarch64") ? "linux-arm64" : null;
    if (dir == null) {
      throw new Options.Usage("--async-profiler: no agent for " + os + "/" + arch + " (Linux x64/arm64 and macOS only)");
    }
    Path lib = work.toAbsolutePath().resolve("libasyncProfiler.so");
    if (!Files.exists(lib)) {
      try (InputStream in = AsyncProfiler.class.getResourceAsStream("/" + dir + "/libasyncProfiler.so")) {
        if (in == null) {
          throw new IOException("the async-profiler agent is not in this jar (" + dir + "/libasyncProfiler.so)");
        }
        Files.createDirectories(work);
        Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
      }
    }
    return lib;
  }

  /** {@code profile-top FILE [N]}: CPU by thread group, the top N frames by self time, Gatehouse methods by inclusive time. */
  static void top(List<String> args) throws IOException {
    if (args.isEmpty()) {
      throw new Options.Usage("usage: profile-top FILE.collapsed [N]");
    }
    Path file = Path.of(args.get(0));
    int n = args.size() > 1 ? Integer.parseInt(args.get(1)) : 25;
    Map<String, Long> groups = new HashMap<>();
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> gatehouse = new HashMap<>();
    long[] total = {0};
    try (Stream<String> lines = Files.lines(file)) {
      lines.forEach(line -> {
        int sp = line.lastIndexOf(' ');
        if (sp <= 0) {
          return;
        }
        long count = Long.parseLong(line.substring(sp + 1).strip());
        String[] frames = line.substring(0, sp).split(";");
        total[0] += count;
        groups.merge(group(frames), count, Long::sum);
        self.merge(frames[frames.length - 1], count, Long::sum);
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (String f : frames) {
          if (f.startsWith("dev/gatehouse/") && seen.add(f)) {
            gatehouse.merge(f.replace('/', '.'), count, Long::sum);
          }
        }
      });
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    System.out.printf(Locale.ROOT, "samples: %,d%n%nCPU by thread group:%n", total[0]);
    print(groups, total[0], n);
    System.out.printf(Locale.ROOT, "%ntop frames by self time ([k] = kernel):%n");
    print(self, total[0], n);
    System.out.printf(Locale.ROOT, "%nGatehouse methods on the stack (inclusive):%n");
    print(gatehouse, total[0], n);
  }

  /** Which kind of thread a stack ran on, from its frames. */
  static String group(String[] frames) {
    String all = String.join(";", frames);
    if (all.contains("Continuation.enterSpecial")) {
      return "virtual threads (request handling)";
    }
    if (all.contains("CompileBroker") || all.contains("C2Compiler") || all.contains("C1Compiler")) {
      return "JIT compiler";
    }
    if (all.contains("ManagedSelector")) {
      return "Jetty selectors (server and clients)";
    }
    if (all.contains("AuditStore.runWriter") || all.contains("AuditStore.checkpoint")) {
      return "audit writer";
    }
    if (all.contains("QueuedThreadPool")) {
      return "Jetty thread pools";
    }
    if (all.contains("ForkJoinPool") || all.contains("DelayScheduler")) {
      return "virtual-thread scheduler (idle, timers)";
    }
    if (all.contains("GCTaskThread") || all.contains("VM_Operation") || all.contains("VMThread") || all.contains("GC_active")) {
      return "GC and VM operations";
    }
    return "other: " + frames[0];
  }

  private static void print(Map<String, Long> counts, long total, int n) {
    Map<String, Long> sorted = new LinkedHashMap<>();
    counts.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
        .forEach(e -> sorted.put(e.getKey(), e.getValue()));
    sorted.forEach((k, v) -> System.out.printf(Locale.ROOT, "  %6.1f%%  %s%n", 100.0 * v / Math.max(1, total), k));
  }
}
