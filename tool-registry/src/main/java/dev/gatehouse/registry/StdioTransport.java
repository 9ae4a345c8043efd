package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A child process speaking newline-delimited JSON-RPC. Started from an argument array, never
 * through a shell. Its stderr goes to our log; lines on stdout that are not JSON are logged and
 * skipped rather than killing the connection; on close the whole process tree is ended (npx and
 * friends start grandchildren that would otherwise outlive us).
 *
 * <p>Nobody waits on the child's pipes. {@link #send} queues the message for this transport's
 * writer thread and returns; a message whose deadline passes while it waits is dropped unsent. A
 * child that stops reading its stdin for longer than the call timeout is taken for hung: it is
 * killed, and the upstream reconnects. Lines on stdout are read as bytes, each at most
 * {@code max_message_bytes}: a longer one is skipped without being held in memory, and the request it
 * answers (found from its {@code id}) fails with a precise error while the upstream stays usable.
 */
final class StdioTransport implements Transport {
  private static final Logger log = LoggerFactory.getLogger(StdioTransport.class);
  /** Messages waiting for the child's stdin; beyond this, sends fail at once. */
  static final int MAX_QUEUED = 4096;
  /** What is kept of the two ends of an oversized line to find its {@code id}. */
  static final int ID_WINDOW = 64 * 1024;

  /** A message waiting to be written, and until when it is still wanted (nanoTime; 0 for ever). */
  private record Outgoing(byte[] bytes, long deadline) {}

  private final String name;
  private final UpstreamConfig.Stdio config;
  private final int maxMessageBytes;
  private final long stallNanos;
  private final BlockingQueue<Outgoing> outgoing = new ArrayBlockingQueue<>(MAX_QUEUED);
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Process process;
  private volatile Listener listener;
  /** When the write in progress started (nanoTime), or 0 when the writer is not writing. */
  private volatile long writingSince;

  private final String owner;

  StdioTransport(String name, UpstreamConfig.Stdio config, String owner) {
    this.name = name;
    this.owner = owner;
    this.config = config;
    this.maxMessageBytes = config.maxMessageBytes();
    this.stallNanos = Math.max(TimeUnit.SECONDS.toNanos(1), config.timeouts().call().toNanos());
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
    Children.mark(pb, owner);
    Process p = pb.start();
    process = p;
    log.info("upstream '{}': started pid {} ({})", name, p.pid(), config);
    Thread.ofVirtual().name("stdio-out-" + name).start(() -> readStdout(p));
    Thread.ofVirtual().name("stdio-err-" + name).start(() -> readStderr(p));
    Thread.ofVirtual().name("stdio-in-" + name).start(() -> writeStdin(p.getOutputStream()));
    Thread.ofVirtual().name("stdio-watch-" + name).start(this::watchWrites);
    p.onExit().thenAccept(done -> {
      if (!closed.get()) {
        log.warn("upstream '{}': process {} exited with code {}", name, done.pid(), done.exitValue());
      }
    });
  }

  @Override
  public boolean stateless() {
    return config.stateless();
  }

  /** A 2026-07-28 server: list changes come on a {@code subscriptions/listen} kept open on the pipe. */
  @Override
  public void initialized(String protocolVersion) {
    if (config.stateless()) {
      send(StreamableHttpTransport.listenRequest());
    }
  }

  /** The listen request (its id) standing for each subscribed resource of a 2026-07-28 server. */
  private final Map<String, String> resourceListens = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicLong resourceListenIds = new java.util.concurrent.atomic.AtomicLong();

  @Override
  public java.util.concurrent.CompletableFuture<Void> subscribe(String uri) {
    if (!config.stateless()) {
      return Transport.super.subscribe(uri);
    }
    if (resourceListens.size() >= MAX_RESOURCE_SUBSCRIPTIONS && !resourceListens.containsKey(uri)) {
      return java.util.concurrent.CompletableFuture.failedFuture(new McpException(McpException.INVALID_PARAMS,
          "upstream '" + name + "': " + MAX_RESOURCE_SUBSCRIPTIONS + " resources are subscribed already"));
    }
    String id = "gatehouse-resource-" + resourceListenIds.incrementAndGet();
    if (resourceListens.putIfAbsent(uri, id) != null) {
      return DONE;
    }
    return send(StreamableHttpTransport.listenRequest(id, uri));
  }

  @Override
  public void unsubscribe(String uri) {
    String id = resourceListens.remove(uri);
    if (id != null) {
      abort(com.fasterxml.jackson.databind.node.TextNode.valueOf(id)); // ends that listen
    }
  }

  /** In 2026-07-28 over stdio, a client cancels its request with {@code notifications/cancelled}. */
  @Override
  public void abort(com.fasterxml.jackson.databind.JsonNode id) {
    ObjectNode cancel = Json.object();
    cancel.put("jsonrpc", "2.0");
    cancel.put("method", "notifications/cancelled");
    ObjectNode params = cancel.putObject("params");
    params.set("requestId", id);
    params.put("reason", "cancelled by the client");
    send(cancel);
  }

  @Override
  public java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, long deadlineNanos) {
    if (closed.get() || process == null) {
      return java.util.concurrent.CompletableFuture.failedFuture(new IOException("upstream '" + name + "' is not running"));
    }
    if (!outgoing.offer(new Outgoing(Json.bytes(message), deadlineNanos))) {
      return java.util.concurrent.CompletableFuture.failedFuture(
          new IOException("the server is not reading its stdin (" + MAX_QUEUED + " messages waiting)"));
    }
    return DONE; // the writer thread hands it to the child's stdin
  }

  private static final java.util.concurrent.CompletableFuture<Void> DONE = java.util.concurrent.CompletableFuture.completedFuture(null);

  /** The writer: one message at a time, dropping those whose caller has given up meanwhile. */
  private void writeStdin(OutputStream out) {
    try (out) {
      while (!closed.get()) {
        Outgoing m = outgoing.poll(1, TimeUnit.SECONDS);
        if (m == null) {
          continue;
        }
        if (m.deadline() != 0 && System.nanoTime() - m.deadline() > 0) {
          continue; // its caller timed out already: the child never sees it
        }
        writingSince = System.nanoTime() | 1; // never 0 while writing
        out.write(m.bytes());
        out.write('\n');
        out.flush();
        writingSince = 0;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (IOException e) {
      if (!closed.get()) {
        log.debug("upstream '{}': stdin closed: {}", name, e.getMessage());
      }
    } finally {
      writingSince = 0;
    }
  }

  /** Kills a child that has not taken a write for longer than the call timeout. */
  private void watchWrites() {
    long period = Math.max(TimeUnit.MILLISECONDS.toNanos(100), stallNanos / 4);
    while (!closed.get()) {
      try {
        TimeUnit.NANOSECONDS.sleep(period);
      } catch (InterruptedException e) {
        return;
      }
      long since = writingSince;
      if (since != 0 && System.nanoTime() - since > stallNanos && !closed.get()) {
        String reason = "the server stopped reading its stdin (a write blocked for more than "
            + Duration.ofNanos(stallNanos).toSeconds() + " s)";
        log.warn("upstream '{}': {}; ending it", name, reason);
        fail(reason);
        return;
      }
    }
  }

  private void readStdout(Process p) {
    String reason = "process exited";
    try (InputStream in = p.getInputStream()) {
      readLines(in);
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
      fail(reason);
    }
  }

  /** Splits stdout into lines of bytes, each handed over whole; an oversized one is only measured. */
  void readLines(InputStream in) throws IOException {
    byte[] chunk = new byte[64 * 1024];
    Line line = new Line(maxMessageBytes);
    int n;
    while ((n = in.read(chunk)) != -1) {
      int start = 0;
      for (int i = 0; i < n; i++) {
        if (chunk[i] == '\n') {
          line.append(chunk, start, i - start);
          finish(line);
          line.reset();
          start = i + 1;
        }
      }
      line.append(chunk, start, n - start);
    }
  }

  private void finish(Line line) {
    if (line.oversized()) {
      JsonNode id = line.id();
      log.warn("upstream '{}': skipped a message of {} bytes (max_message_bytes: {}){}", name, line.total(), maxMessageBytes,
          id == null ? "; its request id could not be found" : " answering request " + id);
      listener.onOversized(id, line.total(), maxMessageBytes);
      return;
    }
    handleLine(line.buffer(), line.length());
  }

  private void handleLine(byte[] bytes, int length) {
    int start = 0;
    while (start < length && Character.isWhitespace(bytes[start])) {
      start++;
    }
    int end = length;
    while (end > start && Character.isWhitespace(bytes[end - 1])) {
      end--;
    }
    if (start == end) {
      return;
    }
    JsonNode node;
    try {
      node = bytes[start] == '{' ? Json.MAPPER.readTree(bytes, start, end - start) : null;
    } catch (IOException e) {
      node = null;
    }
    if (node instanceof ObjectNode message) {
      listener.onMessage(message, null);
    } else {
      String text = new String(bytes, start, Math.min(end - start, 4000), StandardCharsets.UTF_8);
      log.warn("upstream '{}': ignored a stdout line that is not a JSON-RPC message: {}", name, abbreviate(text));
    }
  }

  /**
   * One line being read: kept whole up to the limit; past it, only its first and last
   * {@value #ID_WINDOW} bytes, which is where a JSON-RPC answer carries its {@code id}.
   */
  static final class Line {
    private final int max;
    private byte[] buf = new byte[8192];
    private int length;
    private long total;
    private final byte[] tail = new byte[ID_WINDOW];
    private int tailLength;

    Line(int max) {
      this.max = max;
    }

    void append(byte[] b, int off, int len) {
      if (len == 0) {
        return;
      }
      total += len;
      if (total <= max) {
        if (length + len > buf.length) {
          buf = java.util.Arrays.copyOf(buf, (int) Math.min(max, Math.max(length + len, (long) buf.length * 2)));
        }
        System.arraycopy(b, off, buf, length, len);
        length += len;
        return;
      }
      if (length > ID_WINDOW) {
        // Past the limit: keep the head for the id, drop the rest now rather than hold megabytes.
        byte[] head = java.util.Arrays.copyOf(buf, ID_WINDOW);
        tailFrom(buf, ID_WINDOW, length - ID_WINDOW);
        buf = head;
        length = ID_WINDOW;
      }
      tailFrom(b, off, len);
    }

    private void tailFrom(byte[] b, int off, int len) {
      if (len >= ID_WINDOW) {
        System.arraycopy(b, off + len - ID_WINDOW, tail, 0, ID_WINDOW);
        tailLength = ID_WINDOW;
        return;
      }
      int keep = Math.min(tailLength, ID_WINDOW - len);
      System.arraycopy(tail, tailLength - keep, tail, 0, keep);
      System.arraycopy(b, off, tail, keep, len);
      tailLength = keep + len;
    }

    boolean oversized() {
      return total > max;
    }

    byte[] buffer() {
      return buf;
    }

    int length() {
      return length;
    }

    long total() {
      return total;
    }

    /**
     * The id of the message: a top-level {@code "id"} within its first {@value #ID_WINDOW} bytes (as
     * most SDKs write it), else one that ends the message (the TypeScript SDK writes it after the
     * result). Null when neither is there: then no request is failed by guess.
     */
    JsonNode id() {
      JsonNode id = topLevelId(new String(buf, 0, Math.min(length, ID_WINDOW), StandardCharsets.UTF_8));
      return id != null ? id : trailingId(new String(tail, 0, tailLength, StandardCharsets.UTF_8));
    }

    /** Walks the start of a JSON object, tracking strings and depth, to a member named id at depth 1. */
    static JsonNode topLevelId(String s) {
      int depth = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c == '"') {
          int close = endOfString(s, i);
          if (close < 0) {
            return null;
          }
          if (depth == 1 && s.startsWith("\"id\"", i) && close == i + 3) {
            int colon = skipSpace(s, close + 1);
            if (colon < s.length() && s.charAt(colon) == ':') {
              return value(s, skipSpace(s, colon + 1));
            }
          }
          i = close;
        } else if (c == '{' || c == '[') {
          depth++;
        } else if (c == '}' || c == ']') {
          depth--;
        }
      }
      return null;
    }

    /** An {@code "id": value} that is the object's last member: followed by nothing but its closing brace. */
    static JsonNode trailingId(String s) {
      int at = s.lastIndexOf("\"id\"");
      if (at < 0) {
        return null;
      }
      int colon = skipSpace(s, at + 4);
      if (colon >= s.length() || s.charAt(colon) != ':') {
        return null;
      }
      int start = skipSpace(s, colon + 1);
      JsonNode id = value(s, start);
      if (id == null) {
        return null;
      }
      int after = skipSpace(s, start + (id.isTextual() ? id.asText().length() + 2 : id.asText().length()));
      return after == s.length() - 1 && s.charAt(after) == '}' ? id : null;
    }

    private static int endOfString(String s, int open) {
      for (int j = open + 1; j < s.length(); j++) {
        char c = s.charAt(j);
        if (c == '\\') {
          j++;
        } else if (c == '"') {
          return j;
        }
      }
      return -1;
    }

    private static int skipSpace(String s, int i) {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
      return i;
    }

    /** A JSON-RPC id at {@code i}: an integer, or a string without escapes. */
    private static JsonNode value(String s, int i) {
      if (i >= s.length()) {
        return null;
      }
      if (s.charAt(i) == '"') {
        int close = endOfString(s, i);
        String text = close < 0 ? null : s.substring(i + 1, close);
        return text == null || text.indexOf('\\') >= 0 ? null : Json.MAPPER.getNodeFactory().textNode(text);
      }
      int j = i;
      if (j < s.length() && s.charAt(j) == '-') {
        j++;
      }
      while (j < s.length() && Character.isDigit(s.charAt(j))) {
        j++;
      }
      try {
        return j == i ? null : Json.MAPPER.getNodeFactory().numberNode(Long.parseLong(s.substring(i, j)));
      } catch (NumberFormatException e) {
        return null;
      }
    }

    void reset() {
      if (buf.length > 1 << 20) {
        buf = new byte[8192]; // give a big message's memory back
      }
      length = 0;
      total = 0;
      tailLength = 0;
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

  /** Ends the child and tells the listener once. */
  private void fail(String reason) {
    if (closed.compareAndSet(false, true)) {
      Thread.ofVirtual().name("stdio-end-" + name).start(() -> {
        end();
        listener.onClosed(reason);
      });
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
      end();
    }
  }

  /**
   * Closes stdin (the polite signal), then TERM to the tree, then KILL what is left. Never waits on a
   * pipe: a child that stopped reading cannot hold this up beyond the grace periods.
   */
  private void end() {
    Process p = process;
    if (p == null) {
      return;
    }
    outgoing.clear();
    List<ProcessHandle> tree = new ArrayList<>(p.descendants().toList());
    if (writingSince == 0) {
      try {
        p.getOutputStream().close();
      } catch (IOException ignored) {
        // already gone
      }
    }
    // Signals go through the handle: Process.destroy() first closes the pipes, and closing stdin
    // waits for a write blocked on a child that stopped reading.
    ProcessHandle handle = p.toHandle();
    try {
      if (!p.waitFor(500, TimeUnit.MILLISECONDS)) {
        tree.addAll(p.descendants().toList());
        tree.forEach(ProcessHandle::destroy);
        handle.destroy();
        if (!p.waitFor(2, TimeUnit.SECONDS)) {
          handle.destroyForcibly();
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
      handle.destroyForcibly();
      tree.forEach(ProcessHandle::destroyForcibly);
    }
  }

  static String abbreviate(String s) {
    return s.length() <= 2000 ? s : s.substring(0, 2000) + "… (" + s.length() + " chars)";
  }
}
