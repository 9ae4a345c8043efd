package dev.gatehouse.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The HTTP client every HTTP upstream of one registry shares: Jetty's, over HTTP/1.1 with kept-alive
 * connections, no redirects, a bounded pool per destination, TLS verified against the JDK's trust
 * store with host name checks.
 */
final class UpstreamHttp implements AutoCloseable {
  /** Connections to one host:port at most; requests beyond it queue (bounded by their timeouts). */
  static final int MAX_CONNECTIONS_PER_DESTINATION = 256;
  private static final Duration IDLE = Duration.ofSeconds(60);

  private final HttpClient client;

  UpstreamHttp(String userAgent) {
    ClientConnector connector = new ClientConnector();
    connector.setConnectTimeout(Duration.ofSeconds(10));
    connector.setSslContextFactory(new SslContextFactory.Client());
    QueuedThreadPool pool = new QueuedThreadPool(64, 2);
    pool.setName("gatehouse-upstream-http");
    pool.setDaemon(true);
    client = new HttpClient(new HttpClientTransportOverHTTP(connector));
    client.setExecutor(pool);
    client.setFollowRedirects(false);
    client.setMaxConnectionsPerDestination(MAX_CONNECTIONS_PER_DESTINATION);
    client.setMaxRequestsQueuedPerDestination(16_384);
    client.setIdleTimeout(IDLE.toMillis());
    client.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, userAgent));
    try {
      client.start();
      // A 401/407 is the upstream's answer to pass on, not a challenge for this client to take up
      // (the handlers are installed by start()).
      client.getProtocolHandlers().remove(org.eclipse.jetty.client.WWWAuthenticationProtocolHandler.NAME);
      client.getProtocolHandlers().remove(org.eclipse.jetty.client.ProxyAuthenticationProtocolHandler.NAME);
      // No Accept-Encoding and no decoding behind the caller's back: start() installs every
      // compression on the class path when the list is empty, so it is cleared afterwards.
      client.getContentDecoderFactories().clear();
    } catch (Exception e) {
      throw new IllegalStateException("could not start the upstream HTTP client: " + e.getMessage(), e);
    }
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
      if (c instanceof IOException io && c.getMessage() != null && c.getMessage().startsWith("response from")) {
        throw io;
      }
      throw new IOException(what + ": " + describe(c), c);
    }
  }

  /**
   * Takes a response as it comes: an event stream is handed over at its head and read through Jetty's
   * {@link InputStreamResponseListener}; any other body is collected here, on the client's thread
   * (asking for more right there, without waking its selector), and handed over whole.
   */
  private static final class Receiver implements Response.Listener {
    final CompletableFuture<Exchange> done = new CompletableFuture<>();
    private final int maxBytes;
    private final String what;
    private InputStreamResponseListener stream;
    private byte[] buf = new byte[0];
    private int size;

    Receiver(int maxBytes, String what) {
      this.maxBytes = maxBytes;
      this.what = what;
    }

    @Override
    public void onHeaders(Response response) {
      String type = response.getHeaders().get(HttpHeader.CONTENT_TYPE);
      if (type != null && type.startsWith("text/event-stream")) {
        stream = new InputStreamResponseListener();
        stream.onHeaders(response);
        done.complete(new Exchange(response, stream.getInputStream(), null));
        return;
      }
      long length = response.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
      if (length > maxBytes) {
        response.abort(new IOException("response from " + what + " is larger than " + maxBytes + " bytes"));
      } else if (length > 0) {
        buf = new byte[(int) length];
      }
    }

    @Override
    public void onContent(Response response, Content.Chunk chunk, Runnable demander) {
      if (stream != null) {
        stream.onContent(response, chunk, demander);
        return;
      }
      ByteBuffer b = chunk.getByteBuffer();
      int n = b.remaining();
      if (size + n > maxBytes) {
        response.abort(new IOException("response from " + what + " is larger than " + maxBytes + " bytes"));
        return;
      }
      if (size + n > buf.length) {
        buf = Arrays.copyOf(buf, Math.min(maxBytes, Math.max(size + n, Math.max(8192, buf.length * 2))));
      }
      b.get(buf, size, n);
      size += n;
      demander.run();
    }

    @Override
    public void onSuccess(Response response) {
      if (stream != null) {
        stream.onSuccess(response);
      } else {
        done.complete(new Exchange(response, null, size == buf.length ? buf : Arrays.copyOf(buf, size)));
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

  static String describe(Throwable t) {
    String m = t.getMessage();
    return m == null || m.isBlank() ? t.getClass().getSimpleName() : t.getClass().getSimpleName() + ": " + m;
  }

  private static String human(Duration d) {
    return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() + " ms";
  }

  @Override
  public void close() {
    try {
      client.stop();
    } catch (Exception ignored) {
      // stopping anyway
    }
  }
}
