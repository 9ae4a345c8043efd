package dev.gatehouse.gateway;

import java.io.IOException;
import java.io.InputStream;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;

/** Reading request bodies within a size limit, without needless copies. */
final class Bodies {
  private Bodies() {}

  /** The body is larger than the limit. */
  static final class TooLarge extends IOException {
    TooLarge(long max) {
      super("Request body exceeds " + max + " bytes (server.max_request_bytes)", null);
    }
  }

  /**
   * The whole body, at most {@code max} bytes. With a Content-Length (the usual case) it is read into
   * an array of exactly that size; otherwise in chunks, stopping one byte past the limit.
   */
  static byte[] read(Request request, long max) throws IOException {
    long declared = request.getLength();
    if (declared > max) {
      throw new TooLarge(max);
    }
    try (InputStream in = Content.Source.asInputStream(request)) {
      if (declared >= 0) {
        byte[] body = new byte[(int) declared];
        int n = in.readNBytes(body, 0, body.length);
        if (n < body.length) {
          throw new IOException("request body ended after " + n + " of " + declared + " bytes");
        }
        return body;
      }
      byte[] body = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max + 1));
      if (body.length > max) {
        throw new TooLarge(max);
      }
      return body;
    }
  }
}
