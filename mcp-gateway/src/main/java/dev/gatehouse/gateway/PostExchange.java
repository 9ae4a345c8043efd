package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The response of one POSTed request, written as things happen and never by a waiting thread. If the
 * answer comes before anything else, it goes out as plain JSON (the cheap path). Messages related to
 * the request that come first (progress, logs, our requests to the client) switch the response to an
 * event stream, when the client accepts one; otherwise they go to the session's GET stream. Writes go
 * out one at a time, each started from the completion of the one before; an idle stream gets a
 * keep-alive comment every 15 seconds.
 */
final class PostExchange implements Outbound {
  private static final Logger log = LoggerFactory.getLogger(PostExchange.class);
  private static final long KEEPALIVE_SECONDS = 15;
  private static final ByteBuffer KEEPALIVE = ByteBuffer.wrap(": keepalive\n\n".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();

  private final Response response;
  private final Callback callback;
  private final boolean acceptsSse;
  private final ScheduledExecutorService timers;
  private final McpSession session;
  private final ReentrantLock lock = new ReentrantLock();
  // Guarded by lock.
  private final ArrayDeque<ObjectNode> pending = new ArrayDeque<>();
  private ObjectNode answer;
  private boolean streaming;
  private boolean writing;
  private boolean finished;
  private boolean idle;
  private ScheduledFuture<?> keepalive;

  PostExchange(Response response, Callback callback, boolean acceptsSse, ScheduledExecutorService timers, McpSession session) {
    this.response = response;
    this.callback = callback;
    this.acceptsSse = acceptsSse;
    this.timers = timers;
    this.session = session;
  }

  /** A message related to the request: onto this response's stream, or false (the caller uses the session's). */
  @Override
  public boolean send(ObjectNode message) {
    lock.lock();
    try {
      if (finished || !acceptsSse) {
        return false;
      }
      pending.addLast(message);
      if (!streaming) {
        streaming = true;
        response.setStatus(200);
        response.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream");
        response.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        response.getHeaders().put(new HttpField("X-Accel-Buffering", "no"));
        keepalive = timers.scheduleWithFixedDelay(this::keepalive, KEEPALIVE_SECONDS, KEEPALIVE_SECONDS, TimeUnit.SECONDS);
      }
    } finally {
      lock.unlock();
    }
    flush();
    return true;
  }

  /** The answer: as JSON if nothing was streamed, else as the stream's last event. */
  void complete(ObjectNode message) {
    boolean json;
    lock.lock();
    try {
      if (finished || answer != null) {
        return;
      }
      json = !streaming;
      if (json) {
        finished = true;
      } else {
        answer = message;
      }
    } finally {
      lock.unlock();
    }
    if (json) {
      McpHttpHandler.writeJson(response, callback, session.modern() ? ModernMcp.status(message) : 200, message, null);
    } else {
      flush();
    }
  }

  /** Starts the next write unless one is under way; each write's completion starts the one after. */
  private void flush() {
    ByteBuffer next;
    boolean last = false;
    lock.lock();
    try {
      if (writing || finished) {
        return;
      }
      ObjectNode m = pending.pollFirst();
      if (m != null) {
        next = McpHttpHandler.event(m);
      } else if (answer != null) {
        next = McpHttpHandler.event(answer);
        last = true;
        finished = true;
      } else {
        return;
      }
      writing = true;
      idle = false;
    } finally {
      lock.unlock();
    }
    response.write(last, next, last ? finalWrite : written);
  }

  /** After a write that is not the last: the next one may start. */
  private final Callback written = new Callback() {
    @Override
    public void succeeded() {
      lock.lock();
      try {
        writing = false;
      } finally {
        lock.unlock();
      }
      flush();
    }

    @Override
    public void failed(Throwable x) {
      gone(x);
    }

    @Override
    public InvocationType getInvocationType() {
      return InvocationType.NON_BLOCKING;
    }
  };

  /** After the answer, the stream's last event: the exchange is done. */
  private final Callback finalWrite = new Callback() {
    @Override
    public void succeeded() {
      stopKeepalive();
      callback.succeeded();
    }

    @Override
    public void failed(Throwable x) {
      gone(x);
    }

    @Override
    public InvocationType getInvocationType() {
      return InvocationType.NON_BLOCKING;
    }
  };

  /**
   * The client went away mid-stream. In the session-based revisions that is not a cancellation: the
   * call goes on and anything it still sends is queued for the session's GET stream. In 2026-07-28 a
   * closed response stream cancels its request (and so its upstream call).
   */
  private void gone(Throwable x) {
    lock.lock();
    try {
      finished = true;
      if (!session.modern()) {
        pending.forEach(session::enqueue);
      }
      pending.clear();
    } finally {
      lock.unlock();
    }
    if (session.modern()) {
      session.close();
    }
    stopKeepalive();
    log.debug("session {}: response stream closed: {}", session.id(), x.toString());
    callback.failed(x);
  }

  /** Every 15 s: a comment on a stream that wrote nothing since the last one, so proxies keep it open. */
  private void keepalive() {
    lock.lock();
    try {
      if (finished || writing) {
        return;
      }
      if (!idle) {
        idle = true; // something was written since the last tick: nothing to do yet
        return;
      }
      writing = true;
    } finally {
      lock.unlock();
    }
    response.write(false, KEEPALIVE.duplicate(), written);
  }

  private void stopKeepalive() {
    ScheduledFuture<?> k;
    lock.lock();
    try {
      k = keepalive;
    } finally {
      lock.unlock();
    }
    if (k != null) {
      k.cancel(false);
    }
  }
}
