package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A child process speaking newline-delimited JSON-RPC. Started from an argument array, never
 * through a shell. Its stderr goes to our log; lines on stdout that are not JSON are logged and
 * skipped rather than killing the connection; on close the whole process tree is ended (npx and
 * friends start grandchildren that would otherwise outlive us).
 */
final class StdioTransport implements Transport {
  private static final Logger log = LoggerFactory.getLogger(StdioTransport.class);
  /** Longest line accepted from a child; a longer one is a protocol violation. */
  static final int MAX_LINE_CHARS = 32 * 1024 * 1024;

  private final String name;
  private final UpstreamConfig.Stdio config;
  private final ReentrantLock writeLock = new ReentrantLock();
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Process process;
  private volatile OutputStream stdin;
  private volatile Listener listener;

  StdioTransport(String name, UpstreamConfig.Stdio config) {
    this.name = name;
    this.config = config;
  }

  @Override
  public void start(Listener listener, Duration timeout) throws IOException {
    this.listener = listener;
    List<String> command = new ArrayList<>();
    command.add(config.command());
    command.addAll(config.args());
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().putAll(config.env());
    if (config.cwd() != null) {
      pb.directory(Path.of(config.cwd()).toFile());
    }
    Process p = pb.start();
    process = p;
    stdin = p.getOutputStream();
    log.info("upstream '{}': started pid {} ({})", name, p.pid(), config);
    Thread.ofVirtual().name("stdio-out-" + name).start(() -> readStdout(p));
    Thread.ofVirtual().name("stdio-err-" + name).start(() -> readStderr(p));
    p.onExit().thenAccept(done -> {
      if (!closed.get()) {
        log.warn("upstream '{}': process {} exited with code {}", name, done.pid(), done.exitValue());
      }
    });
  }

  private void readStdout(Process p) {
    String reason = "process exited";
    try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8), 65536)) {
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) != -1) {
        if (c != '\n') {
          if (line.length() >= MAX_LINE_CHARS) {
            reason = "a line on stdout exceeded " + MAX_LINE_CHARS + " characters";
            break;
          }
          line.append((char) c);
          continue;
        }
        handleLine(line);
        line.setLength(0);
      }
    } catch (IOException e) {
      reason = "stdout read failed: " + e.getMessage();
    }
    if (!closed.get()) {
      try {
        p.waitFor(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      if (!p.isAlive()) {
        reason = "process exited with code " + p.exitValue();
      }
      closeQuietly();
      listener.onClosed(reason);
    }
  }

  private void handleLine(CharSequence raw) {
    String line = raw.toString().strip();
    if (line.isEmpty()) {
      return;
    }
    JsonNode node;
    try {
      node = line.charAt(0) == '{' ? Json.MAPPER.readTree(line) : null;
    } catch (IOException e) {
      node = null;
    }
    if (node instanceof ObjectNode message) {
      listener.onMessage(message, null);
    } else {
      log.warn("upstream '{}': ignored a stdout line that is not a JSON-RPC message: {}", name, abbreviate(line));
    }
  }

  private void readStderr(Process p) {
    try (BufferedReader err = new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = err.readLine()) != null) {
        log.info("upstream '{}' stderr: {}", name, abbreviate(line));
      }
    } catch (IOException e) {
      log.debug("upstream '{}': stderr closed: {}", name, e.getMessage());
    }
  }

  @Override
  public void send(ObjectNode message) throws IOException {
    byte[] bytes = Json.bytes(message);
    OutputStream out = stdin;
    if (out == null || closed.get()) {
      throw new IOException("upstream '" + name + "' is not running");
    }
    writeLock.lock();
    try {
      out.write(bytes);
      out.write('\n');
      out.flush();
    } finally {
      writeLock.unlock();
    }
  }

  @Override
  public long pid() {
    Process p = process;
    return p == null ? -1 : p.pid();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeQuietly();
    }
  }

  /** Closes stdin (the polite signal), then TERM to the tree, then KILL what is left. */
  private void closeQuietly() {
    closed.set(true);
    Process p = process;
    if (p == null) {
      return;
    }
    List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
    try {
      p.getOutputStream().close();
    } catch (IOException ignored) {
      // already gone
    }
    try {
      if (!p.waitFor(500, TimeUnit.MILLISECONDS)) {
        tree.addAll(p.descendants().toList());
        tree.forEach(ProcessHandle::destroy);
        p.destroy();
        if (!p.waitFor(2, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      }
      // Grandchildren may survive their parent's exit: end every one we have seen.
      for (ProcessHandle h : tree) {
        if (h.isAlive()) {
          h.destroy();
        }
      }
      for (ProcessHandle h : tree) {
        try {
          h.onExit().get(1, TimeUnit.SECONDS);
        } catch (Exception e) {
          h.destroyForcibly();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      tree.forEach(ProcessHandle::destroyForcibly);
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 2000 ? s : s.substring(0, 2000) + "… (" + s.length() + " chars)";
  }
}
