package dev.gatehouse.http;

import java.time.Duration;
import java.util.concurrent.Executor;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.ProxyAuthenticationProtocolHandler;
import org.eclipse.jetty.client.WWWAuthenticationProtocolHandler;
import org.eclipse.jetty.client.transport.HttpClientTransportOverHTTP;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.ClientConnector;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Jetty HTTP clients for calls to upstreams (MCP servers, model providers), all set up alike: HTTP/1.1
 * with kept-alive connections, at most {@code maxConnections} per host and port, TLS checked against
 * the JDK's trust store with host names, no redirects followed, idle connections closed after 60 s.
 * Answers pass through as the upstream sent them: a 401 or 407 is an answer, not a challenge this
 * client takes up, and nothing is asked for compressed or decoded.
 */
public final class UpstreamClients {
  private static final Duration IDLE = Duration.ofSeconds(60);
  /** Requests waiting for a connection to one destination; each is still bounded by its own timeout. */
  private static final int MAX_QUEUED = 65_536;

  private UpstreamClients() {}

  /**
   * A started client.
   *
   * @param executor runs the client's callbacks; they only move bytes and never block
   * @throws IllegalStateException if it cannot start
   */
  public static HttpClient start(Duration connectTimeout, int maxConnections, Executor executor, String userAgent) {
    ClientConnector connector = new ClientConnector();
    connector.setConnectTimeout(connectTimeout);
    connector.setSslContextFactory(new SslContextFactory.Client());
    HttpClient client = new HttpClient(new HttpClientTransportOverHTTP(connector));
    client.setExecutor(executor);
    client.setFollowRedirects(false);
    client.setMaxConnectionsPerDestination(maxConnections);
    client.setMaxRequestsQueuedPerDestination(MAX_QUEUED);
    client.setIdleTimeout(IDLE.toMillis());
    client.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, userAgent));
    try {
      client.start();
    } catch (Exception e) {
      throw new IllegalStateException("could not start an HTTP client: " + e.getMessage(), e);
    }
    // start() installs the authentication handlers, and every compression on the class path when
    // none is configured: both are undone here.
    client.getProtocolHandlers().remove(WWWAuthenticationProtocolHandler.NAME);
    client.getProtocolHandlers().remove(ProxyAuthenticationProtocolHandler.NAME);
    client.getContentDecoderFactories().clear();
    return client;
  }

  /**
   * What went wrong with an exchange, in words safe to show a client: never a class name, an address or
   * a connection's internals (Jetty's messages name endpoints and local ports). Logs keep the detail.
   */
  public static String describe(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof java.net.ConnectException) {
        return "connection refused";
      }
      if (t instanceof java.net.UnknownHostException) {
        return "host not found";
      }
      if (t instanceof java.net.NoRouteToHostException) {
        return "no route to host";
      }
      if (t instanceof javax.net.ssl.SSLException) {
        return "TLS handshake or certificate check failed";
      }
      if (t instanceof java.util.concurrent.TimeoutException || t instanceof java.net.SocketTimeoutException) {
        return "timed out";
      }
      if (t instanceof java.io.EOFException || t instanceof java.nio.channels.ClosedChannelException) {
        return "the connection was closed before the answer was complete";
      }
      if (t instanceof BodyBuffer.TooLarge) {
        return t.getMessage();
      }
    }
    return "the connection failed";
  }

  /** Stops {@code client}, ignoring failures: it is being dropped anyway. */
  public static void stop(HttpClient client) {
    try {
      client.stop();
    } catch (Exception ignored) {
      // stopping anyway
    }
  }
}
