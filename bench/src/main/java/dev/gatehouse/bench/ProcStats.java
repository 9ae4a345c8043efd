package dev.gatehouse.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * CPU time and memory of a process, from {@code /proc/<pid>/stat} and {@code /proc/<pid>/status}
 * (Linux only): what the kernel charged the process, so the number includes the JVM's JIT compiler,
 * GC threads and everything else a user's gateway process pays for.
 */
final class ProcStats {
  private static final long CLK_TCK = clockTicks();

  private ProcStats() {}

  /** One reading. {@code cpuNanos} is user + system time; memory in KiB; -1 when unreadable. */
  record Sample(long cpuNanos, long rssKb, long hwmKb, long atNanos) {}

  static Sample sample(long pid) {
    long now = System.nanoTime();
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // After the command: state(3) ppid(4) … utime(14) stime(15), 1-based in proc(5).
      long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      long rss = -1;
      long hwm = -1;
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = kb(line);
        } else if (line.startsWith("VmHWM:")) {
          hwm = kb(line);
        }
      }
      return new Sample(ticks * (1_000_000_000L / CLK_TCK), rss, hwm, now);
    } catch (IOException | RuntimeException e) {
      return new Sample(-1, -1, -1, now);
    }
  }

  /**
   * CPU time per thread of {@code pid}, summed by thread name with digits folded ({@code C2 CompilerThread0}
   * and {@code C2 CompilerThread1} count as {@code C2 CompilerThread#}): where a process's CPU goes,
   * including the JIT compilers and GC threads that a Java profiler does not sample.
   */
  static Map<String, Long> threads(long pid) {
    Map<String, Long> out = new java.util.TreeMap<>();
    try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
      for (Path t : (Iterable<Path>) tasks::iterator) {
        try {
          String stat = Files.readString(t.resolve("stat"));
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replaceAll("[0-9]+", "#");
          String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
          out.merge(name, ticks * (1_000_000_000L / CLK_TCK), Long::sum);
        } catch (IOException | RuntimeException gone) {
          // the thread ended meanwhile
        }
      }
    } catch (IOException | RuntimeException e) {
      return Map.of();
    }
    return out;
  }

  /** {@code after - before} per thread group, largest first, groups under 0.5% of the total left out. */
  static Map<String, Double> threadDelta(Map<String, Long> before, Map<String, Long> after) {
    Map<String, Double> d = new java.util.HashMap<>();
    after.forEach((k, v) -> d.put(k, (v - before.getOrDefault(k, 0L)) / 1e9));
    double total = d.values().stream().mapToDouble(Double::doubleValue).filter(x -> x > 0).sum();
    Map<String, Double> out = new java.util.LinkedHashMap<>();
    d.entrySet().stream().filter(e -> e.getValue() > 0.005 * total).sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .forEach(e -> out.put(e.getKey(), e.getValue()));
    return out;
  }

  private static long kb(String line) {
    return Long.parseLong(line.replaceAll("[^0-9]", ""));
  }

  private static long clockTicks() {
    try {
      Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes()).trim();
      p.waitFor(5, TimeUnit.SECONDS);
      return Long.parseLong(out);
    } catch (IOException | InterruptedException | NumberFormatException e) {
      return 100;
    }
  }

  /** What a process used over one phase. */
  record Usage(String process, long pid, double cpuSeconds, double cores, long rssMaxKb, long rssEndKb, long hwmKb) {}

  /**
   * Samples a set of processes every {@code periodMillis} on a daemon thread, keeping the largest RSS
   * seen since {@link #begin()}; {@link #end()} gives each process's CPU time over the window.
   */
  static final class Monitor implements AutoCloseable {
    private final Map<String, Long> pids;
    private final Map<String, Long> maxRss = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile Map<String, Sample> begun = Map.of();
    private volatile boolean closed;

    Monitor(Map<String, Long> pids, long periodMillis) {
      this.pids = pids;
      thread = Thread.ofPlatform().daemon().name("proc-monitor").start(() -> {
        while (!closed) {
          pids.forEach((name, pid) -> {
            Sample s = sample(pid);
            if (s.rssKb() >= 0) {
              maxRss.merge(name, s.rssKb(), Math::max);
            }
          });
          try {
            TimeUnit.MILLISECONDS.sleep(periodMillis);
          } catch (InterruptedException e) {
            return;
          }
        }
      });
    }

    void begin() {
      maxRss.clear();
      Map<String, Sample> m = new java.util.LinkedHashMap<>();
      pids.forEach((name, pid) -> m.put(name, sample(pid)));
      begun = m;
    }

    List<Usage> end() {
      List<Usage> out = new java.util.ArrayList<>();
      begun.forEach((name, b) -> {
        long pid = pids.get(name);
        Sample e = sample(pid);
        double cpu = (e.cpuNanos() - b.cpuNanos()) / 1e9;
        double wall = (e.atNanos() - b.atNanos()) / 1e9;
        long max = Math.max(maxRss.getOrDefault(name, -1L), e.rssKb());
        out.add(new Usage(name, pid, cpu, wall > 0 ? cpu / wall : 0, max, e.rssKb(), e.hwmKb()));
      });
      return out;
    }

    @Override
    public void close() {
      closed = true;
      thread.interrupt();
    }
  }
}
