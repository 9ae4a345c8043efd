package dev.gatehouse.registry;

import dev.gatehouse.http.BodyBuffer;
import dev.gatehouse.http.UpstreamClients;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP client every HTTP upstream of one registry shares (set up by {@link UpstreamClients}), and
 * one exchange with it.
 */
final class UpstreamHttp implements AutoCloseable {
  /** Connections to one host:port at most; requests beyond it queue (bounded by their timeouts). */
  static final int MAX_CONNECTIONS_PER_DESTINATION = 256;

  private final HttpClient client;
  /** Call timeouts of every upstream of this registry: one timer thread, owned here, stopped on close. */
  private final java.util.concurrent.ScheduledThreadPoolExecutor timers;

  UpstreamHttp(String userAgent) {
    timers = new java.util.concurrent.ScheduledThreadPoolExecutor(1, r -> {
      Thread th = new Thread(r, "gatehouse-upstream-timers");
      th.setDaemon(true);
      return th;
    });
    timers.setRemoveOnCancelPolicy(true);
    QueuedThreadPool pool = new QueuedThreadPool(64, 2);
    pool.setName("gatehouse-upstream-http");
    pool.setDaemon(true);
    client = UpstreamClients.start(Duration.ofSeconds(10), MAX_CONNECTIONS_PER_DESTINATION, pool, userAgent);
  }

  java.util.concurrent.ScheduledExecutorService timers() {
    return timers;
  }

  Request newRequest(URI uri) {
    return client.newRequest(uri);
  }

  /**
   * Sends {@code request} and waits at most {@code timeout} for its answer: for an event stream, the
   * response head, the events then read from {@link Exchange#body()} (which must be read to its end or
   * closed); for anything else, the whole body, at most {@code maxBytes} of it.
   */
  static Exchange exchange(Request request, Duration timeout, int maxBytes, String what) throws IOException {
    Receiver receiver = new Receiver(maxBytes, what);
    request.send(receiver);
    try {
      return receiver.done.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      request.abort(e);
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted");
    } catch (TimeoutException e) {
      request.abort(e);
      throw new IOException("no response from " + what + " within " + human(timeout), e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause() == null ? e : e.getCause();
      if (c instanceof TimeoutException) {
        throw new IOException("no response from " + what + " within " + human(timeout), c);
      }
      if (BodyBuffer.isTooLarge(c)) {
        throw new IOException(c.getMessage(), c);
      }
      throw new IOException(what + ": " + describe(c), c);
    }
  }

  /**
   * {@link #exchange} without a waiting thread: the future completes on the client's thread with the
   * exchange, or fails with an {@link IOException} saying what went wrong. The request's own timeout
   * (set by the caller) bounds it; {@code timeout} only names it in the message.
   */
  static CompletableFuture<Exchange> exchangeAsync(Request request, Duration timeout, int maxBytes, String what) {
    Receiver receiver = new Receiver(maxBytes, what);
    request.send(receiver);
    return receiver.done.handle((exchange, failure) -> {
      if (failure == null) {
        return exchange;
      }
      Throwable c = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null ? failure.getCause() : failure;
      IOException e;
      if (c instanceof TimeoutException) {
        e = new IOException("no response from " + what + " within " + human(timeout), c);
      } else if (BodyBuffer.isTooLarge(c)) {
        e = new IOException(c.getMessage(), c);
      } else {
        e = new IOException(what + ": " + describe(c), c);
      }
      throw new java.util.concurrent.CompletionException(e);
    });
  }

  /**
   * Takes a response as it comes: an event stream is handed over at its head and read through Jetty's
   * {@link InputStreamResponseListener}; any other body is collected here, on the client's thread
   * (asking for more right there, without waking its selector), and handed over whole.
   */
  private static final class Receiver implements Response.Listener {
    final CompletableFuture<Exchange> done = new CompletableFuture<>();
    private final BodyBuffer whole;
    private InputStreamResponseListener stream;

    Receiver(int maxBytes, String what) {
      this.whole = new BodyBuffer(maxBytes, "response from " + what);
    }

    @Override
    public void onHeaders(Response response) {
      String type = response.getHeaders().get(HttpHeader.CONTENT_TYPE);
      if (type != null && type.startsWith("text/event-stream")) {
        stream = new InputStreamResponseListener();
        stream.onHeaders(response);
        done.complete(new Exchange(response, stream.getInputStream(), null));
      } else {
        whole.headers(response);
      }
    }

    @Override
    public void onContent(Response response, Content.Chunk chunk, Runnable demander) {
      if (stream != null) {
        stream.onContent(response, chunk, demander);
      } else {
        whole.content(response, chunk, demander);
      }
    }

    @Override
    public void onSuccess(Response response) {
      if (stream != null) {
        stream.onSuccess(response);
      } else {
        done.complete(new Exchange(response, null, whole.bytes()));
      }
    }

    @Override
    public void onFailure(Response response, Throwable failure) {
      if (stream != null) {
        stream.onFailure(response, failure);
      }
    }

    @Override
    public void onComplete(Result result) {
      if (stream != null) {
        stream.onComplete(result);
      }
      if (result.isFailed()) {
        done.completeExceptionally(result.getFailure());
      }
    }
  }

  /** A response: an event stream's head and {@code body}, or any other response with its {@code bytes}. */
  record Exchange(Response response, InputStream body, byte[] bytes) {
    int status() {
      return response.getStatus();
    }

    String header(String name) {
      return response.getHeaders().get(name);
    }

    String contentType() {
      String t = response.getHeaders().get(HttpHeader.CONTENT_TYPE);
      return t == null ? "" : t;
    }

    /** Up to {@code max} bytes of the body as text; the rest is discarded. */
    String text(int max) {
      if (bytes != null) {
        return new String(bytes, 0, Math.min(max, bytes.length), StandardCharsets.UTF_8);
      }
      try (InputStream in = body) {
        String t = new String(in.readNBytes(max), StandardCharsets.UTF_8);
        in.skip(Long.MAX_VALUE);
        return t;
      } catch (IOException e) {
        return "";
      }
    }

    /** Drops the body; an event stream is read to its end, which keeps the connection reusable. */
    void discard() {
      if (body != null) {
        try (InputStream in = body) {
          in.skip(Long.MAX_VALUE);
        } catch (IOException ignored) {
          // nothing to keep
        }
      }
    }
  }

  /** A client-safe description of a failed exchange (see {@link UpstreamClients#describe}). */
  static String describe(Throwable t) {
    return UpstreamClients.describe(t);
  }

  private static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  @Override
  public void close() {
    timers.shutdownNow();
    UpstreamClients.stop(client);
  }
}
