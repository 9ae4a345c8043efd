package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The legacy HTTP+SSE transport (MCP 2024-11-05): a GET opens an event stream whose first
 * {@code endpoint} event names where to POST; every answer comes back on the stream.
 */
final class SseTransport implements Transport {
  private static final Logger log = LoggerFactory.getLogger(SseTransport.class);

  private final String name;
  private final URI url;
  private final Map<String, String> headers;
  private final HttpClient http;
  private final Duration postTimeout;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CompletableFuture<URI> endpoint = new CompletableFuture<>();
  private volatile InputStream stream;
  private volatile Listener listener;

  SseTransport(String name, UpstreamConfig.Sse config, HttpClient http) {
    this.name = name;
    this.url = config.url();
    this.headers = config.headers();
    this.http = http;
    this.postTimeout = config.timeouts().call();
  }

  @Override
  public void start(Listener listener, Duration timeout) throws IOException {
    this.listener = listener;
    HttpRequest.Builder b = HttpRequest.newBuilder(url).header("Accept", "text/event-stream").GET();
    headers.forEach(b::setHeader);
    HttpResponse<InputStream> resp;
    try {
      resp = http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream())
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IOException("GET " + url + " failed: " + e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("GET " + url + ": no answer within " + timeout.toMillis() + " ms");
    }
    if (resp.statusCode() != 200) {
      StreamableHttpTransport.drain(resp.body());
      throw new IOException("GET " + url + " answered HTTP " + resp.statusCode() + " (expected: 200 and an event stream)");
    }
    stream = resp.body();
    Thread.ofVirtual().name("mcp-sse-" + name).start(this::readStream);
    try {
      endpoint.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    } catch (TimeoutException e) {
      throw new IOException("no 'endpoint' event from " + url + " within " + timeout.toMillis() + " ms");
    }
  }

  private void readStream() {
    String reason = "event stream ended";
    try (SseReader sse = new SseReader(stream)) {
      SseReader.Event e;
      while ((e = sse.next()) != null) {
        if ("endpoint".equals(e.event())) {
          URI target = url.resolve(e.data().strip());
          if (!sameOrigin(target, url)) {
            endpoint.completeExceptionally(new IOException("endpoint " + target + " is not on the origin of " + url));
            reason = "endpoint on a foreign origin";
            break;
          }
          endpoint.complete(target);
        } else if ("message".equals(e.event()) && !e.data().isBlank()) {
          try {
            JsonNode node = Json.MAPPER.readTree(e.data());
            if (node instanceof ObjectNode o) {
              listener.onMessage(o, null);
            }
          } catch (IOException bad) {
            log.warn("upstream '{}': ignored an event that is not JSON", name);
          }
        }
      }
    } catch (IOException e) {
      reason = "event stream failed: " + e.getMessage();
    }
    endpoint.completeExceptionally(new IOException(reason));
    if (closed.compareAndSet(false, true)) {
      listener.onClosed(reason);
    }
  }

  private static boolean sameOrigin(URI a, URI b) {
    return a.getScheme().equalsIgnoreCase(b.getScheme())
        && a.getHost().equalsIgnoreCase(b.getHost())
        && port(a) == port(b);
  }

  private static int port(URI u) {
    return u.getPort() != -1 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
  }

  @Override
  public void send(ObjectNode message) throws IOException {
    if (closed.get()) {
      throw new IOException("transport closed");
    }
    URI target = endpoint.getNow(null);
    if (target == null) {
      throw new IOException("no endpoint announced yet");
    }
    HttpRequest.Builder b = HttpRequest.newBuilder(target)
        .timeout(postTimeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.bytes(message)));
    headers.forEach(b::setHeader);
    try {
      HttpResponse<String> resp = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
      if (resp.statusCode() / 100 != 2) {
        throw new IOException("POST " + target.getPath() + " answered HTTP " + resp.statusCode());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      InputStream s = stream;
      if (s != null) {
        try {
          s.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
    }
  }
}
