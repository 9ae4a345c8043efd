package dev.gatehouse.router;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.eclipse.jetty.client.Request;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.client.Result;
import org.eclipse.jetty.io.Content;

/**
 * One provider exchange as the router reads it: the response head, then the body as an
 * {@link InputStream} whose every read is bounded by a deadline: until the first byte arrives, the
 * earlier of the first-byte and total deadlines, then the total one. The HTTP client keeps reading
 * while at most {@link #READ_AHEAD} chunks wait to be read, and then only as they are read
 * (back-pressure), so a slow reader never buffers a provider's whole answer, and a provider that stalls
 * cannot hold a thread forever. Asking for more on the client's own thread, while under that bound,
 * spares a wake-up of its selector per chunk.
 */
final class BodyStream extends InputStream implements Response.Listener, ProviderExchange {
  private static final Object END = new Object();
  /** Chunks the client may deliver ahead of the reader. */
  static final int READ_AHEAD = 16;

  private record Broken(Throwable cause) {}

  /** A chunk, and what asks the client for the next one once it is read (null: already asked). */
  private record Piece(Content.Chunk chunk, Runnable demand) {}

  /** A deadline passed while waiting for the provider. */
  static final class Timeout extends IOException {
    private static final long serialVersionUID = 1L;

    Timeout(String message) {
      super(message);
    }
  }

  private final CompletableFuture<Response> head = new CompletableFuture<>();
  private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private final java.util.concurrent.atomic.AtomicInteger unread = new java.util.concurrent.atomic.AtomicInteger();
  private final long firstByteDeadline;
  private final long totalDeadline;
  private volatile Request request;
  private volatile boolean closed;
  private Piece current;
  private boolean gotByte;
  private long firstByteAt;
  private boolean done;

  /** Deadlines in {@link System#nanoTime()} terms. */
  BodyStream(long firstByteDeadline, long totalDeadline) {
    this.firstByteDeadline = firstByteDeadline;
    this.totalDeadline = totalDeadline;
  }

  @Override
  public void send(Request r) {
    this.request = r;
    r.send(this);
  }

  /** Waits for the response head (the body is read from this stream afterwards). */
  @Override
  public Response head(long deadline) throws Timeout, ExecutionException, InterruptedException {
    try {
      return head.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      close();
      throw new Timeout("no response head in time");
    } catch (InterruptedException e) {
      close();
      throw e;
    }
  }

  @Override
  public void onHeaders(Response response) {
    head.complete(response);
  }

  @Override
  public void onContent(Response response, Content.Chunk chunk, Runnable demander) {
    if (!chunk.hasRemaining() || closed) {
      demander.run();
      return;
    }
    chunk.retain();
    if (unread.incrementAndGet() <= READ_AHEAD) {
      queue.add(new Piece(chunk, null));
      demander.run();
    } else {
      queue.add(new Piece(chunk, demander));
    }
    if (closed) {
      drainQueue();
    }
  }

  @Override
  public void onSuccess(Response response) {
    queue.add(END);
  }

  @Override
  public void onFailure(Response response, Throwable failure) {
    queue.add(new Broken(failure));
  }

  @Override
  public void onComplete(Result result) {
    if (result.isFailed()) {
      head.completeExceptionally(result.getFailure());
      queue.add(new Broken(result.getFailure()));
    }
  }

  /** When the first byte of the body was read ({@link System#nanoTime()}); 0 before. */
  long firstByteAt() {
    return firstByteAt;
  }

  @Override
  public int read() throws IOException {
    byte[] one = new byte[1];
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    if (len == 0) {
      return 0;
    }
    while (current == null || !current.chunk().hasRemaining()) {
      if (current != null) {
        Piece used = current;
        current = null;
        used.chunk().release();
        unread.decrementAndGet();
        if (used.demand() != null) {
          used.demand().run();
        }
      }
      if (done || closed) {
        return -1;
      }
      long limit = gotByte ? totalDeadline : Math.min(firstByteDeadline, totalDeadline);
      long wait = limit - System.nanoTime();
      Object item;
      try {
        item = wait <= 0 ? queue.poll() : queue.poll(wait, TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        close();
        throw new InterruptedIOException("interrupted while reading the provider's answer");
      }
      if (item == null) {
        close();
        throw new Timeout(gotByte || firstByteDeadline >= totalDeadline
            ? "the answer took longer than the total timeout"
            : "no first byte within the first-byte timeout");
      }
      if (item == END) {
        done = true;
        return -1;
      }
      if (item instanceof Broken broken) {
        done = true;
        Throwable c = broken.cause();
        if (c instanceof TimeoutException) {
          throw new Timeout("the answer took longer than the total timeout");
        }
        throw c instanceof IOException io ? io : new IOException("the provider's answer broke off", c);
      }
      current = (Piece) item;
    }
    java.nio.ByteBuffer buf = current.chunk().getByteBuffer();
    int n = Math.min(len, buf.remaining());
    buf.get(b, off, n);
    if (!gotByte) {
      gotByte = true;
      firstByteAt = System.nanoTime();
    }
    return n;
  }

  /** At most {@code max} bytes of the body (for error responses); the rest is dropped. */
  byte[] readPrefix(int max) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(1024);
    byte[] buf = new byte[4096];
    int n;
    while (out.size() < max && (n = read(buf, 0, Math.min(buf.length, max - out.size()))) >= 0) {
      out.write(buf, 0, n);
    }
    close();
    return out.toByteArray();
  }

  /** Stops the exchange unless it already ended; chunks not yet read are released. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      if (!done) {
        Request r = request;
        if (r != null) {
          r.abort(new IOException("closed by the gateway before the answer ended"));
        }
      }
      if (current != null) {
        current.chunk().release();
        current = null;
      }
      drainQueue();
    }
  }

  private void drainQueue() {
    Object item;
    while ((item = queue.poll()) != null) {
      if (item instanceof Piece p) {
        p.chunk().release();
      }
    }
  }
}
