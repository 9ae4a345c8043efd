package dev.gatehouse.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stdio children that outlive a gateway killed without a chance to end them (SIGKILL, OOM killer).
 * Every child is started with two environment variables, inherited by its own children: who owns it
 * ({@code GATEHOUSE_OWNER}, the gateway's config file) and which gateway process started it
 * ({@code GATEHOUSE_PARENT}, pid and start time). A gateway starting with the same config looks for
 * processes with its owner whose starting gateway is gone, and ends them. Processes of a gateway
 * still running are never touched. Needs {@code /proc} (Linux); elsewhere nothing is reaped, and the
 * supervisor should kill the whole process group (docs/configuration.md).
 */
final class Children {
  private static final Logger log = LoggerFactory.getLogger(Children.class);
  static final String OWNER = "GATEHOUSE_OWNER";
  static final String PARENT = "GATEHOUSE_PARENT";
  private static final Path PROC = Path.of("/proc");

  private Children() {}

  /** This process as {@code pid:startMillis}. */
  static String self() {
    ProcessHandle me = ProcessHandle.current();
    return me.pid() + ":" + me.info().startInstant().map(i -> i.toEpochMilli()).orElse(0L);
  }

  /** Marks a child about to be started as {@code owner}'s, started by this process. */
  static void mark(ProcessBuilder pb, String owner) {
    pb.environment().put(OWNER, owner);
    pb.environment().put(PARENT, self());
  }

  /** Ends every process of {@code owner} whose starting gateway no longer runs; returns how many. */
  static int reapOrphans(String owner) {
    if (!Files.isDirectory(PROC)) {
      return 0;
    }
    String me = self();
    List<ProcessHandle> all;
    try {
      all = ProcessHandle.allProcesses().toList();
    } catch (RuntimeException e) {
      return 0;
    }
    int reaped = 0;
    for (ProcessHandle h : all) {
      Map<String, String> env = environment(h.pid());
      if (!owner.equals(env.get(OWNER)) || me.equals(env.get(PARENT)) || alive(env.get(PARENT))) {
        continue;
      }
      log.warn("ending pid {} ({}): a stdio upstream left behind by an earlier gateway run ({} {})", h.pid(),
          h.info().command().orElse("?"), PARENT, env.get(PARENT));
      h.destroy();
      reaped++;
    }
    return reaped;
  }

  /** Whether the gateway process named {@code pid:startMillis} is still running. */
  private static boolean alive(String parent) {
    if (parent == null) {
      return false;
    }
    int colon = parent.indexOf(':');
    try {
      long pid = Long.parseLong(parent.substring(0, colon));
      long start = Long.parseLong(parent.substring(colon + 1));
      Optional<ProcessHandle> h = ProcessHandle.of(pid);
      // The same start time, within a second (/proc counts clock ticks), or the pid was reused.
      return h.isPresent() && h.get().isAlive()
          && h.get().info().startInstant().map(i -> Math.abs(i.toEpochMilli() - start) <= 1000).orElse(true);
    } catch (RuntimeException e) {
      return true; // not ours to judge: leave it alone
    }
  }

  /** The environment of a process of this user, from /proc; empty when it cannot be read. */
  private static Map<String, String> environment(long pid) {
    byte[] raw;
    try {
      raw = Files.readAllBytes(PROC.resolve(Long.toString(pid)).resolve("environ"));
    } catch (IOException | SecurityException e) {
      return Map.of();
    }
    Map<String, String> env = new java.util.HashMap<>();
    int start = 0;
    for (int i = 0; i <= raw.length; i++) {
      if (i == raw.length || raw[i] == 0) {
        String entry = new String(raw, start, i - start, StandardCharsets.UTF_8);
        int eq = entry.indexOf('=');
        if (eq > 0 && entry.startsWith("GATEHOUSE_")) {
          env.put(entry.substring(0, eq), entry.substring(eq + 1));
        }
        start = i + 1;
      }
    }
    return env;
  }
}
