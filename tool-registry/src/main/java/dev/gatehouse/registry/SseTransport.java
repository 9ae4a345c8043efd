package dev.gatehouse.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
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
  private final UpstreamHttp http;
  private final Duration postTimeout;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final CompletableFuture<URI> endpoint = new CompletableFuture<>();
  private volatile InputStream stream;
  private volatile Listener listener;

  /** The gateway's token for this upstream ({@code auth:}), or null. */
  private final UpstreamTokens tokens;

  SseTransport(String name, UpstreamConfig.Sse config, UpstreamHttp http) {
    this(name, config, http, null);
  }

  SseTransport(String name, UpstreamConfig.Sse config, UpstreamHttp http, UpstreamTokens tokens) {
    this.tokens = tokens;
    this.name = name;
    this.url = config.url();
    this.headers = config.headers();
    this.http = http;
    this.postTimeout = config.timeouts().call();
  }

  @Override
  public void start(Listener listener, Duration timeout) throws IOException {
    this.listener = listener;
    // The event stream lives as long as the connection: no total timeout, and silence is normal.
    String bearer = tokens == null ? null : tokens.tokenNow(timeout);
    Request get = http.newRequest(url).method(HttpMethod.GET).idleTimeout(0, TimeUnit.MILLISECONDS).headers(h -> {
      headers.forEach(h::put);
      if (bearer != null) {
        h.put(HttpHeader.AUTHORIZATION, "Bearer " + bearer);
      }
      h.put(HttpHeader.ACCEPT, "text/event-stream");
    });
    UpstreamHttp.Exchange resp = UpstreamHttp.exchange(get, timeout, 64 * 1024, "the SSE stream");
    if (resp.status() != 200 || resp.body() == null) {
      resp.discard();
      throw new IOException("the SSE stream answered HTTP " + resp.status()
          + (resp.status() == 200 ? " with Content-Type '" + resp.contentType() + "'" : "") + " (expected: 200 and an event stream)");
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
      throw new IOException("no 'endpoint' event on the SSE stream within " + timeout.toMillis() + " ms");
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
            endpoint.completeExceptionally(new IOException("the 'endpoint' event names another origin than the SSE stream's"));
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
  public java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, long deadlineNanos, java.util.Map<String, String> headers,
      java.util.Optional<CallContext.Caller> caller) {
    return send(message, caller);
  }

  @Override
  public java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, long deadlineNanos) {
    return send(message, java.util.Optional.empty());
  }

  private java.util.concurrent.CompletableFuture<Void> send(ObjectNode message, java.util.Optional<CallContext.Caller> caller) {
    if (closed.get()) {
      return java.util.concurrent.CompletableFuture.failedFuture(new IOException("transport closed"));
    }
    URI target = endpoint.getNow(null);
    if (target == null) {
      return java.util.concurrent.CompletableFuture.failedFuture(new IOException("no endpoint announced yet"));
    }
    byte[] bytes = Json.bytes(message);
    if (tokens == null) {
      return post(target, bytes, null);
    }
    return tokens.token(caller).thenCompose(bearer -> post(target, bytes, bearer));
  }

  private java.util.concurrent.CompletableFuture<Void> post(URI target, byte[] bytes, String bearer) {
    Request post = http.newRequest(target).method(HttpMethod.POST)
        .timeout(postTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .headers(h -> {
          headers.forEach(h::put);
          if (bearer != null) {
            h.put(HttpHeader.AUTHORIZATION, "Bearer " + bearer);
          }
        })
        .body(new BytesRequestContent("application/json", bytes));
    return UpstreamHttp.exchangeAsync(post, postTimeout, 64 * 1024, "POST " + target).thenAccept(resp -> {
      resp.discard();
      if (resp.status() == 401 && bearer != null) {
        tokens.refused(bearer); // the next message gets a new one
      }
      if (resp.status() / 100 != 2) {
        throw new java.util.concurrent.CompletionException(new IOException("POST " + target.getPath() + " answered HTTP " + resp.status()));
      }
    });
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
