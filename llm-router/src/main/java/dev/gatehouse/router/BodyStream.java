package dev.gatehouse.router;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A response body read as an {@link InputStream} whose every read is bounded by a deadline: until the
 * first byte arrives, the earlier of the first-byte and total deadlines, then the total one. A blocked
 * {@code read} on the JDK's own body stream cannot be bounded; this one polls a queue fed by the HTTP
 * client, one buffer list at a time, so a provider that stalls mid-stream cannot hold a thread forever.
 */
final class BodyStream extends InputStream implements HttpResponse.BodySubscriber<BodyStream> {
  private static final Object END = new Object();

  private record Broken(Throwable cause) {}

  private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
  private final long firstByteDeadline;
  private final long totalDeadline;
  private volatile Flow.Subscription subscription;
  private volatile boolean closed;
  private Iterator<ByteBuffer> pending;
  private ByteBuffer current;
  private boolean gotByte;
  private long firstByteAt;
  private boolean done;

  /** Deadlines in {@link System#nanoTime()} terms. */
  BodyStream(long firstByteDeadline, long totalDeadline) {
    this.firstByteDeadline = firstByteDeadline;
    this.totalDeadline = totalDeadline;
  }

  @Override
  public CompletionStage<BodyStream> getBody() {
    return CompletableFuture.completedStage(this);
  }

  @Override
  public void onSubscribe(Flow.Subscription s) {
    subscription = s;
    if (closed) {
      s.cancel();
    } else {
      s.request(1);
    }
  }

  @Override
  public void onNext(List<ByteBuffer> item) {
    queue.add(item);
  }

  @Override
  public void onError(Throwable t) {
    queue.add(new Broken(t));
  }

  @Override
  public void onComplete() {
    queue.add(END);
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
    while (current == null || !current.hasRemaining()) {
      if (pending != null && pending.hasNext()) {
        current = pending.next();
        continue;
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
        throw new HttpTimeoutException(gotByte || firstByteDeadline >= totalDeadline
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
        throw c instanceof IOException io ? io : new IOException("the provider's answer broke off", c);
      }
      @SuppressWarnings("unchecked")
      List<ByteBuffer> buffers = (List<ByteBuffer>) item;
      pending = buffers.iterator();
      Flow.Subscription s = subscription;
      if (s != null) {
        s.request(1);
      }
    }
    int n = Math.min(len, current.remaining());
    current.get(b, off, n);
    if (!gotByte) {
      gotByte = true;
      firstByteAt = System.nanoTime();
    }
    return n;
  }

  /** The whole body, up to {@code max} bytes; more is an error. */
  byte[] readAll(int max) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
    byte[] buf = new byte[8192];
    int n;
    while ((n = read(buf, 0, buf.length)) >= 0) {
      out.write(buf, 0, n);
      if (out.size() > max) {
        close();
        throw new IOException("the provider's answer is larger than " + max + " bytes");
      }
    }
    return out.toByteArray();
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

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      Flow.Subscription s = subscription;
      if (s != null) {
        s.cancel();
      }
    }
  }
}
