package dev.gatehouse.router;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A provider on loopback with scripted replies: JSON bodies, SSE and AWS event streams, 429 with
 * Retry-After, 5xx, a connection dropped before or in the middle of an answer, and stalls past a
 * timeout. Every request is recorded (method, path, query, headers, body) for assertions.
 */
final class FakeProvider implements AutoCloseable {

  /** One request as the provider received it. */
  record Recorded(String method, String path, String query, Headers headers, byte[] body) {
    ObjectNode json() {
      try {
        return Json.parseObject(body);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    String header(String name) {
      return headers.getFirst(name);
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** What to answer one request with. */
  interface Reply {
    void write(HttpExchange ex) throws Exception;
  }

  /** Thrown by a reply to drop the connection without a (complete) answer. */
  static final class Drop extends RuntimeException {
    Drop() {
      super("scripted connection drop", null, false, false);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
  private final ConcurrentLinkedQueue<Reply> script = new ConcurrentLinkedQueue<>();
  private final List<Recorded> requests = new CopyOnWriteArrayList<>();
  private volatile Reply otherwise = json(500, "{\"error\":{\"message\":\"no scripted reply\"}}");

  private FakeProvider() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.setExecutor(executor);
    server.createContext("/", this::handle);
    server.start();
  }

  static FakeProvider start() {
    try {
      return new FakeProvider();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  String url() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  URI uri() {
    return URI.create(url());
  }

  FakeProvider reply(Reply... replies) {
    script.addAll(List.of(replies));
    return this;
  }

  /** The reply once the script is used up. */
  FakeProvider otherwise(Reply reply) {
    otherwise = reply;
    return this;
  }

  List<Recorded> requests() {
    return new ArrayList<>(requests);
  }

  Recorded request(int i) {
    return requests.get(i);
  }

  Recorded last() {
    return requests.get(requests.size() - 1);
  }

  int count() {
    return requests.size();
  }

  private void handle(HttpExchange ex) throws IOException {
    try {
      byte[] body = ex.getRequestBody().readAllBytes();
      Headers copy = new Headers();
      ex.getRequestHeaders().forEach(copy::put);
      requests.add(new Recorded(ex.getRequestMethod(), ex.getRequestURI().getRawPath(), ex.getRequestURI().getRawQuery(), copy, body));
      Reply r = script.poll();
      (r == null ? otherwise : r).write(ex);
      ex.close();
    } catch (Exception e) {
      // A Drop (or any failure) closes the connection with no complete answer: the client sees a reset.
      throw new IOException("dropped", e);
    }
  }

  // ---- replies

  static Reply json(int status, String body, String... headers) {
    return ex -> {
      for (int i = 0; i + 1 < headers.length; i += 2) {
        ex.getResponseHeaders().add(headers[i], headers[i + 1]);
      }
      ex.getResponseHeaders().set("Content-Type", "application/json");
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
      if (b.length > 0) {
        ex.getResponseBody().write(b);
      }
    };
  }

  static Reply ok(String body) {
    return json(200, body);
  }

  /** An SSE stream of these events, each a block such as {@code "data: {...}"}; a blank line ends each. */
  static Reply sse(String... events) {
    return sse(List.of(events), false, Duration.ZERO);
  }

  /** The events, then the connection is dropped mid-stream (no terminating chunk). */
  static Reply sseThenDrop(String... events) {
    return sse(List.of(events), true, Duration.ZERO);
  }

  /** The events, then a stall of {@code stall} with the stream open. */
  static Reply sseThenStall(Duration stall, String... events) {
    return sse(List.of(events), false, stall);
  }

  private static Reply sse(List<String> events, boolean drop, Duration stall) {
    return ex -> {
      ex.getResponseHeaders().set("Content-Type", "text/event-stream");
      ex.sendResponseHeaders(200, 0);
      OutputStream out = ex.getResponseBody();
      for (String e : events) {
        out.write((e + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
      }
      if (!stall.isZero()) {
        Thread.sleep(stall.toMillis());
      }
      if (drop) {
        throw new Drop();
      }
    };
  }

  /** A raw body with this content type (for AWS event streams). */
  static Reply bytes(int status, String contentType, byte[] body, boolean dropAfter) {
    return ex -> {
      ex.getResponseHeaders().set("Content-Type", contentType);
      ex.sendResponseHeaders(status, dropAfter ? 0 : body.length);
      ex.getResponseBody().write(body);
      ex.getResponseBody().flush();
      if (dropAfter) {
        throw new Drop();
      }
    };
  }

  /** No answer at all: the connection is closed right away. */
  static Reply reset() {
    return ex -> {
      throw new Drop();
    };
  }

  /** No status line for {@code stall}, then the connection is dropped. */
  static Reply stall(Duration stall) {
    return ex -> {
      Thread.sleep(stall.toMillis());
      throw new Drop();
    };
  }

  /** Holds the request until {@code gate} opens, then answers with {@code then}. */
  static Reply await(CountDownLatch entered, CountDownLatch gate, Reply then) {
    return ex -> {
      entered.countDown();
      gate.await(10, TimeUnit.SECONDS);
      then.write(ex);
    };
  }

  /** Answers by the request's headers, for key-dependent behaviour. */
  static Reply byHeader(String header, Map<String, Reply> replies, Reply otherwise) {
    return ex -> {
      String v = ex.getRequestHeaders().getFirst(header);
      replies.getOrDefault(v, otherwise).write(ex);
    };
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
