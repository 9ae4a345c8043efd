package dev.gatehouse.gateway;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * Reading request bodies within a size limit, on demand: no thread waits for the bytes. What is
 * already there is read at once; otherwise the read continues when Jetty has more.
 */
final class Bodies {
  private Bodies() {}

  /** The body is larger than the limit. */
  static final class TooLarge extends IOException {
    TooLarge(long max) {
      super("Request body exceeds " + max + " bytes (server.max_request_bytes)", null);
    }
  }

  /** The size refusal behind a read's failure (as thrown, or wrapped by a future), or null if it was another failure. */
  static TooLarge tooLarge(Throwable failure) {
    return failure instanceof TooLarge t ? t : failure != null && failure.getCause() instanceof TooLarge t ? t : null;
  }

  /**
   * Before a refusal: drops what has arrived of a body the refusal leaves unread. If more is still to
   * come, Jetty closes the connection after the response; the response then says {@code Connection:
   * close}, so that no client sends its next request on a connection that is about to end. A body
   * refused for its size (413) is not drained at all: that connection always closes.
   */
  static void dropUnread(org.eclipse.jetty.server.Response response, int status) {
    if (!response.isCommitted() && (status == 413 || !response.getRequest().consumeAvailable())) {
      response.getHeaders().put(org.eclipse.jetty.http.HttpHeader.CONNECTION, org.eclipse.jetty.http.HttpHeaderValue.CLOSE.asString());
    }
  }

  /** What a door does with a body once it is in ({@code failure} set if it could not be read). */
  interface Then {
    void accept(byte[] bytes, Throwable failure);
  }

  /**
   * Reads the body, then goes on with {@code then}; whatever {@code then} throws is logged and answered
   * {@code 500} as an OpenAI-style error (the {@code /v1} doors), never left hanging.
   */
  static void readThen(Request request, org.eclipse.jetty.server.Response response, org.eclipse.jetty.util.Callback callback, long max,
      String what, Then then) {
    read(request, max).whenComplete((bytes, failure) -> {
      try {
        then.accept(bytes, failure);
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(Bodies.class).error("{} failed unexpectedly", what, e);
        OpenAiErrors.write(response, callback, 500, "api_error", "internal_error", "internal error while handling the " + what);
      }
    });
  }

  /**
   * The whole body, at most {@code max} bytes; fails with {@link TooLarge} past that, or with the
   * I/O failure. With a Content-Length (the usual case) the bytes go into an array of exactly that size.
   */
  static CompletableFuture<byte[]> read(Request request, long max) {
    long declared = request.getLength();
    if (declared > max) {
      return CompletableFuture.failedFuture(new TooLarge(max));
    }
    Reader reader = new Reader(request, max, declared);
    reader.run();
    return reader.done;
  }

  /** Reads what is there, then asks to be called again when there is more. */
  private static final class Reader implements Runnable, Invocable {
    final CompletableFuture<byte[]> done = new CompletableFuture<>();
    private final Request request;
    private final long max;
    private final long declared;
    private byte[] buf;
    private int size;

    Reader(Request request, long max, long declared) {
      this.request = request;
      this.max = max;
      this.declared = declared;
      this.buf = new byte[declared >= 0 ? (int) declared : 1024];
    }

    @Override
    public void run() {
      while (true) {
        Content.Chunk chunk = request.read();
        if (chunk == null) {
          request.demand(this);
          return;
        }
        if (Content.Chunk.isFailure(chunk)) {
          done.completeExceptionally(chunk.getFailure());
          return;
        }
        ByteBuffer b = chunk.getByteBuffer();
        int n = b.remaining();
        if (size + (long) n > max) {
          chunk.release();
          done.completeExceptionally(new TooLarge(max));
          return;
        }
        if (size + n > buf.length) {
          buf = Arrays.copyOf(buf, (int) Math.min(max, Math.max((long) buf.length * 2, size + (long) n)));
        }
        b.get(buf, size, n);
        size += n;
        boolean last = chunk.isLast();
        chunk.release();
        if (last) {
          if (declared >= 0 && size < declared) {
            done.completeExceptionally(new IOException("request body ended after " + size + " of " + declared + " bytes"));
          } else {
            done.complete(size == buf.length ? buf : Arrays.copyOf(buf, size));
          }
          return;
        }
      }
    }

    @Override
    public InvocationType getInvocationType() {
      return InvocationType.NON_BLOCKING; // what follows the read never blocks: it may run on the selector
    }
  }
}
