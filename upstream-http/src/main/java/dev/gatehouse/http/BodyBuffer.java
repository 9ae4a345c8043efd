package dev.gatehouse.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.eclipse.jetty.client.Response;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;

/**
 * An upstream's answer collected whole, on the HTTP client's thread, as it arrives: sized by its
 * Content-Length when it has one, and never beyond {@code maxBytes} (the exchange is aborted, with
 * {@code what} in the reason). Not thread-safe: the client delivers one callback at a time.
 */
public final class BodyBuffer {
  private final int maxBytes;
  private final String what;
  private byte[] buf = new byte[0];
  private int size;

  public BodyBuffer(int maxBytes, String what) {
    this.maxBytes = maxBytes;
    this.what = what;
  }

  /** Call from the response listener's {@code onHeaders}. */
  public void headers(Response response) {
    long length = response.getHeaders().getLongField(HttpHeader.CONTENT_LENGTH);
    if (length > maxBytes) {
      response.abort(tooLarge());
    } else if (length > 0) {
      buf = new byte[(int) length];
    }
  }

  /** Call from the response listener's {@code onContent}; asks the client for more unless aborted. */
  public void content(Response response, Content.Chunk chunk, Runnable demander) {
    ByteBuffer b = chunk.getByteBuffer();
    int n = b.remaining();
    if (size + n > maxBytes) {
      response.abort(tooLarge());
      return;
    }
    if (size + n > buf.length) {
      buf = Arrays.copyOf(buf, Math.min(maxBytes, Math.max(size + n, Math.max(8192, buf.length * 2))));
    }
    b.get(buf, size, n);
    size += n;
    demander.run();
  }

  /** What arrived, once the response succeeded. */
  public byte[] bytes() {
    return size == buf.length ? buf : Arrays.copyOf(buf, size);
  }

  /** Whether {@code failure} is this buffer's refusal of an answer larger than its limit. */
  public static boolean isTooLarge(Throwable failure) {
    return failure instanceof TooLarge;
  }

  private TooLarge tooLarge() {
    return new TooLarge(what + " is larger than " + maxBytes + " bytes");
  }

  /** The answer exceeded the limit. */
  static final class TooLarge extends IOException {
    private static final long serialVersionUID = 1L;

    TooLarge(String message) {
      super(message);
    }
  }
}
