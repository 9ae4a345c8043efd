package dev.gatehouse.bench;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.eclipse.jetty.client.BytesRequestContent;
import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The load generator's HTTP/1.1 client: Jetty's asynchronous client with keep-alive connection pools
 * per destination, so a request is sent the moment the schedule says, whatever is still in flight.
 * Each reply records when its first body byte and its last byte arrived.
 */
final class Http implements AutoCloseable {
  /** Requests that take longer fail; every phase is bounded in time. */
  static final long TIMEOUT_SECONDS = 10;

  private final HttpClient client;
  /** When set, every request goes over this one connection (a paced client's own connection). */
  private final org.eclipse.jetty.client.Connection pinned;
  private final boolean owner;

  private Http(HttpClient client, org.eclipse.jetty.client.Connection pinned) {
    this.client = client;
    this.pinned = pinned;
    this.owner = false;
  }

  /**
   * A view of this client whose requests all go over one new connection to {@code target}'s host and
   * port: a client that keeps its own kept-alive connection, with idle gaps between its requests.
   */
  Http pin(URI target) throws Exception {
    var destination = client.resolveDestination(client.newRequest(target));
    var promise = new org.eclipse.jetty.util.Promise.Completable<org.eclipse.jetty.client.Connection>();
    destination.newConnection(promise);
    return new Http(client, promise.get(10, TimeUnit.SECONDS));
  }

  Http(int maxConnectionsPerDestination) throws Exception {
    QueuedThreadPool threads = new QueuedThreadPool(64, 4);
    threads.setName("loadgen");
    threads.setDaemon(true);
    client = new HttpClient();
    client.setExecutor(threads);
    client.setMaxConnectionsPerDestination(maxConnectionsPerDestination);
    client.setMaxRequestsQueuedPerDestination(1_000_000);
    client.setFollowRedirects(false);
    client.setUserAgentField(null);
    client.setIdleTimeout(60_000);
    client.setConnectTimeout(5_000);
    client.start();
    pinned = null;
    owner = true;
  }

  /**
   * One reply: status, body, and the {@link System#nanoTime()} of its first body byte, of the first
   * model token (the first bytes of {@link #FIRST_TOKEN}; the end when none came) and of its end.
   */
  record Reply(int status, byte[] body, String sessionId, long firstByteNanos, long firstTokenNanos, long endNanos, Throwable failure) {
    boolean ok() {
      return failure == null && status == 200;
    }

    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    boolean contains(String s) {
      return text().contains(s);
    }

    /** A short description for error counts: the status, or the failure's class and message. */
    String problem() {
      if (failure != null) {
        return failure.getClass().getSimpleName() + ": " + failure.getMessage();
      }
      String t = text();
      return "HTTP " + status + (t.isEmpty() ? "" : " " + (t.length() > 160 ? t.substring(0, 160) + "…" : t));
    }
  }

  /** Receives a reply, on one of the client's threads. */
  interface Callback {
    void done(Reply reply);
  }

  void post(URI uri, List<String[]> headers, byte[] body, Callback done) {
    send(client.newRequest(uri).method(HttpMethod.POST).body(new BytesRequestContent("application/json", body)), headers, done);
  }

  void get(URI uri, List<String[]> headers, Callback done) {
    send(client.newRequest(uri).method(HttpMethod.GET), headers, done);
  }

  /** The mock model's first content delta, as both the mock and the gateway serialise it. */
  static final byte[] FIRST_TOKEN = ("\"content\":\"" + MockUpstreams.MODEL_TEXT + "\"").getBytes(StandardCharsets.UTF_8);

  /** A body buffer that can look for {@link #FIRST_TOKEN} in what it holds. */
  private static final class Body extends ByteArrayOutputStream {
    Body() {
      super(256);
    }

    boolean holdsFirstToken(int from) {
      byte[] m = FIRST_TOKEN;
      outer:
      for (int i = Math.max(0, from); i + m.length <= count; i++) {
        for (int j = 0; j < m.length; j++) {
          if (buf[i + j] != m[j]) {
            continue outer;
          }
        }
        return true;
      }
      return false;
    }
  }

  private void send(Request request, List<String[]> headers, Callback done) {
    request.timeout(TIMEOUT_SECONDS, TimeUnit.SECONDS);
    request.headers(h -> {
      for (String[] kv : headers) {
        h.put(kv[0], kv[1]);
      }
    });
    Response.Listener listener = new Response.Listener() {
      private final Body body = new Body();
      private long firstByte;
      private long firstToken;

      @Override
      public void onContent(Response response, ByteBuffer content) {
        int n = content.remaining();
        long now = n > 0 ? System.nanoTime() : 0;
        if (n > 0 && firstByte == 0) {
          firstByte = now;
        }
        int before = body.size();
        if (content.hasArray()) {
          body.write(content.array(), content.arrayOffset() + content.position(), n);
          content.position(content.limit());
        } else {
          byte[] tmp = new byte[n];
          content.get(tmp);
          body.write(tmp, 0, n);
        }
        if (n > 0 && firstToken == 0 && body.holdsFirstToken(before - FIRST_TOKEN.length + 1)) {
          firstToken = now;
        }
      }

      @Override
      public void onComplete(Result result) {
        long end = System.nanoTime();
        Response r = result.getResponse();
        String sid = r == null ? null : r.getHeaders().get(MockUpstreams.MCP_SESSION);
        done.done(new Reply(r == null ? 0 : r.getStatus(), body.toByteArray(), sid, firstByte == 0 ? end : firstByte, firstToken == 0 ? end : firstToken, end,
            result.getFailure()));
      }
    };
    if (pinned != null) {
      pinned.send(request, listener);
    } else {
      request.send(listener);
    }
  }

  /** Blocking convenience for setup and probes. */
  Reply postAndWait(URI uri, List<String[]> headers, byte[] body) throws InterruptedException {
    var f = new java.util.concurrent.CompletableFuture<Reply>();
    post(uri, headers, body, f::complete);
    try {
      return f.get(TIMEOUT_SECONDS + 5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return new Reply(0, new byte[0], null, 0, 0, 0, e);
    }
  }

  Reply getAndWait(URI uri, List<String[]> headers) throws InterruptedException {
    var f = new java.util.concurrent.CompletableFuture<Reply>();
    get(uri, headers, f::complete);
    try {
      return f.get(TIMEOUT_SECONDS + 5, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      return new Reply(0, new byte[0], null, 0, 0, 0, e);
    }
  }

  @Override
  public void close() throws Exception {
    if (owner) {
      client.stop();
    } else if (pinned != null) {
      pinned.close();
    }
  }
}
