package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * MCP Streamable HTTP, client side: every message is a POST; an answer comes back as JSON or as an
 * event stream on that POST (messages on it are related to the request it carried), and a GET stream
 * carries what the server sends unprompted. A 404 on a known session means the server forgot it.
 */
final class StreamableHttpTransport implements Transport {
  private static final Logger log = LoggerFactory.getLogger(StreamableHttpTransport.class);
  static final String SESSION_HEADER = "Mcp-Session-Id";
  static final String VERSION_HEADER = "MCP-Protocol-Version";
  private static final int MAX_BODY_BYTES = 32 * 1024 * 1024;
  /**
   * Requests in flight to one upstream at once. Bounds the connections the HTTP client opens (it
   * opens one per request in flight, and its pool degrades when it holds thousands); callers beyond
   * it wait for a slot within their own call timeout.
   */
  static final int MAX_IN_FLIGHT = 128;

  private final String name;
  private final URI url;
  private final Map<String, String> headers;
  private final HttpClient http;
  private final Duration requestTimeout;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile Listener listener;
  private volatile String sessionId;
  private volatile String protocolVersion;
  private volatile Thread getStream;
  private volatile InputStream getBody;
  private final java.util.concurrent.Semaphore inFlight = new java.util.concurrent.Semaphore(MAX_IN_FLIGHT);

  StreamableHttpTransport(String name, UpstreamConfig.StreamableHttp config, HttpClient http) {
    this.name = name;
    this.url = config.url();
    this.headers = config.headers();
    this.http = http;
    this.requestTimeout = config.timeouts().call().plus(config.timeouts().connect());
  }

  @Override
  public void start(Listener listener, Duration timeout) {
    this.listener = listener;
  }

  @Override
  public void initialized(String protocolVersion) {
    this.protocolVersion = protocolVersion;
    getStream = Thread.ofVirtual().name("mcp-get-" + name).start(this::runGetStream);
  }

  private HttpRequest.Builder request() {
    HttpRequest.Builder b = HttpRequest.newBuilder(url);
    headers.forEach(b::setHeader);
    String sid = sessionId;
    if (sid != null) {
      b.setHeader(SESSION_HEADER, sid);
    }
    String v = protocolVersion;
    if (v != null) {
      b.setHeader(VERSION_HEADER, v);
    }
    return b;
  }

  @Override
  public void send(ObjectNode message) throws IOException {
    if (closed.get()) {
      throw new IOException("transport closed");
    }
    JsonNode id = message.has("method") ? message.get("id") : null;
    HttpRequest req = request()
        .timeout(requestTimeout)
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(message)))
        .build();
    try {
      if (!inFlight.tryAcquire(requestTimeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS)) {
        throw new IOException("more than " + MAX_IN_FLIGHT + " requests in flight to " + url + " for " + requestTimeout.toSeconds() + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    boolean streaming = false;
    try {
      HttpResponse<Body> resp;
      try {
        resp = http.send(req, StreamableHttpTransport::body);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException("interrupted", e);
      } catch (HttpTimeoutException e) {
        throw new IOException("no response from " + url + " within " + requestTimeout.toSeconds() + " s", e);
      }
      int status = resp.statusCode();
      resp.headers().firstValue(SESSION_HEADER).ifPresent(sid -> {
        if (sessionId == null) {
          sessionId = sid;
        }
      });
      Body body = resp.body();
      if (status == 404 && sessionId != null) {
        body.discard();
        throw new McpException.SessionExpired(name);
      }
      if (status == 202 || status == 204) {
        body.discard();
        return;
      }
      if (status / 100 != 2) {
        String text = body.text(2048);
        throw new IOException("HTTP " + status + " from " + url + (text.isBlank() ? "" : ": " + text.strip()));
      }
      switch (body) {
        case Body.Stream stream -> {
          // Read the stream on its own thread: the caller only needed the hand-over. The slot is held
          // until the stream ends, since the connection is busy until then.
          streaming = true;
          Thread.ofVirtual().name("mcp-post-" + name).start(() -> {
            try {
              readEvents(stream.in(), id, false);
            } finally {
              inFlight.release();
            }
          });
        }
        case Body.Bytes bytes -> {
          if (bytes.data().length > MAX_BODY_BYTES) {
            throw new IOException("response from " + url + " is larger than " + MAX_BODY_BYTES + " bytes");
          }
          if (bytes.data().length > 0) {
            deliver(Json.MAPPER.readTree(bytes.data()), id);
          }
        }
        case Body.Other other -> throw new IOException("unexpected Content-Type '" + other.type() + "' from " + url);
      }
    } finally {
      if (!streaming) {
        inFlight.release();
      }
    }
  }

  /** A response body as the Content-Type calls for: bytes for JSON (read whole, exact size), a stream for SSE. */
  private sealed interface Body {
    record Bytes(byte[] data) implements Body {}

    record Stream(InputStream in) implements Body {}

    record Other(String type) implements Body {}

    default void discard() {
      if (this instanceof Stream s) {
        drain(s.in());
      }
    }

    default String text(int max) {
      return switch (this) {
        case Bytes b -> new String(b.data(), 0, Math.min(max, b.data().length), java.nio.charset.StandardCharsets.UTF_8);
        case Stream s -> readLimited(s.in(), max);
        case Other o -> "";
      };
    }
  }

  private static HttpResponse.BodySubscriber<Body> body(HttpResponse.ResponseInfo info) {
    String type = info.headers().firstValue("Content-Type").orElse("");
    if (type.startsWith("text/event-stream")) {
      return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofInputStream(), Body.Stream::new);
    }
    if (type.startsWith("application/json") || info.statusCode() / 100 != 2) {
      return HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofByteArray(), Body.Bytes::new);
    }
    return HttpResponse.BodySubscribers.replacing(new Body.Other(type));
  }

  private void deliver(JsonNode node, JsonNode relatedId) {
    if (node instanceof ObjectNode o) {
      listener.onMessage(o, relatedId);
    } else if (node instanceof ArrayNode batch) {
      batch.forEach(n -> deliver(n, relatedId));
    } else {
      log.warn("upstream '{}': ignored a message that is not a JSON object", name);
    }
  }

  /** Returns the last event id seen, so a dropped GET stream can resume. */
  private String readEvents(InputStream body, JsonNode relatedId, boolean getStream) {
    try (SseReader sse = new SseReader(body)) {
      SseReader.Event e;
      while ((e = sse.next()) != null) {
        if (!"message".equals(e.event()) || e.data().isBlank()) {
          continue;
        }
        try {
          deliver(Json.MAPPER.readTree(e.data()), relatedId);
        } catch (IOException bad) {
          log.warn("upstream '{}': ignored an event that is not JSON: {}", name, StdioTransport.abbreviate(e.data()));
        }
      }
      return sse.lastEventId();
    } catch (IOException e) {
      if (!closed.get()) {
        log.debug("upstream '{}': {} stream ended: {}", name, getStream ? "GET" : "POST", e.toString());
      }
      return "";
    }
  }

  /** The server-initiated stream; reopened while the transport lives, unless the server has none (405). */
  private void runGetStream() {
    String lastEventId = "";
    long backoffMs = 500;
    while (!closed.get()) {
      try {
        HttpRequest.Builder b = request().header("Accept", "text/event-stream").GET();
        if (!lastEventId.isEmpty()) {
          b.header("Last-Event-ID", lastEventId);
        }
        HttpResponse<InputStream> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        int status = resp.statusCode();
        if (status == 405 || status == 404 && sessionId == null) {
          drain(resp.body());
          return; // no standalone stream offered
        }
        if (status == 404) {
          drain(resp.body());
          if (!closed.get()) {
            closed.set(true);
            listener.onClosed("session expired (HTTP 404 on GET stream)");
          }
          return;
        }
        if (status / 100 != 2) {
          drain(resp.body());
        } else {
          backoffMs = 500;
          getBody = resp.body();
          String last = readEvents(getBody, null, true);
          if (!last.isEmpty()) {
            lastEventId = last;
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (IOException e) {
        log.debug("upstream '{}': GET stream failed: {}", name, e.toString());
      }
      if (closed.get()) {
        return;
      }
      try {
        Thread.sleep(backoffMs);
      } catch (InterruptedException e) {
        return;
      }
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    Thread t = getStream;
    if (t != null) {
      t.interrupt();
    }
    InputStream body = getBody;
    if (body != null) {
      try {
        body.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    String sid = sessionId;
    if (sid != null) {
      // Tell the server the session is over; best effort, bounded.
      try {
        HttpRequest del = request().timeout(Duration.ofSeconds(2)).DELETE().build();
        http.sendAsync(del, HttpResponse.BodyHandlers.discarding());
      } catch (RuntimeException e) {
        log.debug("upstream '{}': DELETE failed: {}", name, e.toString());
      }
    }
  }

  Optional<String> sessionId() {
    return Optional.ofNullable(sessionId);
  }

  static void drain(InputStream in) {
    try (in) {
      in.skip(Long.MAX_VALUE);
    } catch (IOException ignored) {
      // nothing to keep
    }
  }

  static String readLimited(InputStream in, int max) {
    try (in) {
      return new String(in.readNBytes(max), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }
}
