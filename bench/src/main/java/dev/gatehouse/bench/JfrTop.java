package dev.gatehouse.bench;

import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * {@code jfr-top FILE [N]}: where a flight recording's CPU samples ({@code jdk.ExecutionSample}) fall:
 * the top frames by self time, the Gatehouse methods by inclusive time (on the stack at all), and the
 * share of samples by the package of the top frame. Allocation pressure from
 * {@code jdk.ObjectAllocationSample} by allocating Gatehouse frame, too.
 */
final class JfrTop {
  private JfrTop() {}

  static void main(List<String> args) throws IOException {
    if (args.isEmpty()) {
      throw new Options.Usage("usage: jfr-top FILE.jfr [N]");
    }
    int n = args.size() > 1 ? Integer.parseInt(args.get(1)) : 25;
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> inclusive = new HashMap<>();
    Map<String, Long> packages = new HashMap<>();
    Map<String, Long> alloc = new HashMap<>();
    long samples = 0;
    long allocTotal = 0;
    try (RecordingFile f = new RecordingFile(Path.of(args.get(0)))) {
      while (f.hasMoreEvents()) {
        RecordedEvent e = f.readEvent();
        String type = e.getEventType().getName();
        RecordedStackTrace st = e.getStackTrace();
        if (st == null || st.getFrames().isEmpty()) {
          continue;
        }
        List<RecordedFrame> frames = st.getFrames();
        if (type.equals("jdk.ExecutionSample")) {
          samples++;
          RecordedFrame top = frames.get(0);
          self.merge(name(top), 1L, Long::sum);
          packages.merge(pkg(top), 1L, Long::sum);
          Set<String> seen = new HashSet<>();
          for (RecordedFrame fr : frames) {
            String m = name(fr);
            if (m.startsWith("dev.gatehouse.") && seen.add(m)) {
              inclusive.merge(m, 1L, Long::sum);
            }
          }
        } else if (type.equals("jdk.ObjectAllocationSample")) {
          long w = e.getLong("weight");
          allocTotal += w;
          for (RecordedFrame fr : frames) {
            String m = name(fr);
            if (m.startsWith("dev.gatehouse.")) {
              alloc.merge(m, w, Long::sum);
              break;
            }
          }
        }
      }
    }
    System.out.println("CPU samples: " + samples);
    print("top frames by self samples", self, samples, n);
    print("top-frame package share", packages, samples, n);
    print("Gatehouse methods on the stack (inclusive samples)", inclusive, samples, n);
    if (allocTotal > 0) {
      long total = allocTotal;
      System.out.printf("%nallocation (sampled weight %,d MB), by innermost Gatehouse frame:%n", total >> 20);
      alloc.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
          .forEach(x -> System.out.printf("  %5.1f%%  %s%n", 100.0 * x.getValue() / total, x.getKey()));
    }
  }

  private static void print(String title, Map<String, Long> m, long total, int n) {
    System.out.println("\n" + title + ":");
    m.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
        .forEach(x -> System.out.printf("  %5.1f%%  %6d  %s%n", 100.0 * x.getValue() / Math.max(1, total), x.getValue(), x.getKey()));
  }

  private static String name(RecordedFrame f) {
    return f.getMethod().getType().getName() + "." + f.getMethod().getName();
  }

  private static String pkg(RecordedFrame f) {
    String t = f.getMethod().getType().getName();
    int dot = t.lastIndexOf('.');
    String p = dot < 0 ? "" : t.substring(0, dot);
    // Group deep packages by their first three segments: org.eclipse.jetty, com.fasterxml.jackson, java.util.concurrent.
    String[] parts = p.split("\\.");
    return parts.length <= 3 ? p : parts[0] + "." + parts[1] + "." + parts[2];
  }
}
