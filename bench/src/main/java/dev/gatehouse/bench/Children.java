package dev.gatehouse.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The processes a run starts (mocks, gateways). Each is listed in {@code <work>/pids} as it starts, so
 * {@code scripts/bench} can end them even if this JVM is killed outright; a shutdown hook ends them on
 * Ctrl-C and on every normal exit. Only these processes are ever signalled, by their own pid.
 */
final class Children implements AutoCloseable {
  private final Path pidFile;
  private final List<Process> processes = new ArrayList<>();

  Children(Path pidFile) {
    this.pidFile = pidFile;
    Runtime.getRuntime().addShutdownHook(new Thread(this::close, "children-cleanup"));
  }

  synchronized Process start(String name, List<String> command, Path log) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    Process p = pb.start();
    processes.add(p);
    Files.writeString(pidFile, p.pid() + " " + name + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    return p;
  }

  /** Asks {@code p} to stop (SIGTERM), then kills it if it has not stopped within {@code seconds}. */
  static void stop(Process p, long seconds) {
    if (!p.isAlive()) {
      return;
    }
    p.destroy();
    try {
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        p.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public synchronized void close() {
    for (Process p : processes) {
      if (p.isAlive()) {
        p.destroy();
      }
    }
    for (Process p : processes) {
      stop(p, 15);
    }
  }
}
