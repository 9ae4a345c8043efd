package dev.gatehouse.registry;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.InputStreamResponseListener;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
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
    // Upstream answers are passed on as they come; never decode gzip behind the caller's back.
    client.getContentDecoderFactories().clear();
    try {
      client.start();
    } catch (Exception e) {
      throw new IllegalStateException("could not start the upstream HTTP client: " + e.getMessage(), e);
    }
  }

  Request newRequest(URI uri) {
    return client.newRequest(uri);
  }

  /**
   * Sends {@code request} and waits at most {@code timeout} for the response head; the body is then
   * read from {@link Exchange#body()}, which must be read to its end or closed.
   */
  static Exchange exchange(Request request, Duration timeout, String what) throws IOException {
    InputStreamResponseListener listener = new InputStreamResponseListener();
    request.send(listener);
    try {
      Response response = listener.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return new Exchange(response, listener.getInputStream());
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
      throw new IOException(what + ": " + describe(c), c);
    }
  }

  /** A response head and its body. */
  record Exchange(Response response, InputStream body) {
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

    /** The whole body, at most {@code max} bytes; sized by Content-Length when the server sent one. */
    byte[] bytes(int max, String what) throws IOException {
      long length = response.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
      try (InputStream in = body) {
        if (length > max) {
          throw new IOException("response from " + what + " is larger than " + max + " bytes");
        }
        byte[] data = length >= 0 ? in.readNBytes((int) length) : in.readNBytes(max + 1);
        if (data.length > max) {
          throw new IOException("response from " + what + " is larger than " + max + " bytes");
        }
        if (length >= 0) {
          in.skip(Long.MAX_VALUE); // reach the end, so the connection goes back to the pool
        }
        return data;
      }
    }

    /** Up to {@code max} bytes of the body as text; the rest is discarded. */
    String text(int max) {
      try (InputStream in = body) {
        String t = new String(in.readNBytes(max), StandardCharsets.UTF_8);
        in.skip(Long.MAX_VALUE);
        return t;
      } catch (IOException e) {
        return "";
      }
    }

    /** Reads the body to its end and drops it, which keeps the connection reusable. */
    void discard() {
      try (InputStream in = body) {
        in.skip(Long.MAX_VALUE);
      } catch (IOException ignored) {
        // nothing to keep
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
