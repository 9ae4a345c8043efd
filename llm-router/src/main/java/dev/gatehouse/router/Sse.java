package dev.gatehouse.router;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/**
 * Reads server-sent events: {@code event:} and {@code data:} lines (several data lines joined by a
 * newline), comments skipped, an empty line ending an event; {@code \n}, {@code \r\n} and {@code \r}
 * line ends alike.
 */
final class Sse {
  /** One event; {@code event} is empty when the stream names none. */
  record Event(String event, String data) {}

  private static final int MAX_LINE = 16 * 1024 * 1024;

  private final InputStream in;
  private final byte[] buf = new byte[8192];
  private int pos;
  private int lim;
  private boolean skipLf;
  private final ByteArrayOutputStream line = new ByteArrayOutputStream(256);

  Sse(InputStream in) {
    this.in = in;
  }

  /** The next event, or null at the end of the stream. */
  Event next() throws IOException {
    String event = "";
    StringBuilder data = null;
    while (true) {
      String l = readLine();
      if (l == null) {
        return data == null ? null : new Event(event, data.toString());
      }
      if (l.isEmpty()) {
        if (data != null) {
          return new Event(event, data.toString());
        }
        event = "";
        continue;
      }
      if (l.charAt(0) == ':') {
        continue;
      }
      int colon = l.indexOf(':');
      String field = colon < 0 ? l : l.substring(0, colon);
      String value = colon < 0 ? "" : l.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      if (field.equals("data")) {
        if (data == null) {
          data = new StringBuilder(value);
        } else {
          data.append('\n').append(value);
        }
      } else if (field.equals("event")) {
        event = value;
      }
    }
  }

  private String readLine() throws IOException {
    line.reset();
    while (true) {
      if (pos == lim) {
        lim = in.read(buf, 0, buf.length);
        pos = 0;
        if (lim < 0) {
          lim = 0;
          return line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
        }
      }
      byte b = buf[pos++];
      if (skipLf) {
        skipLf = false;
        if (b == '\n') {
          continue;
        }
      }
      if (b == '\n') {
        return line.toString(StandardCharsets.UTF_8);
      }
      if (b == '\r') {
        skipLf = true;
        return line.toString(StandardCharsets.UTF_8);
      }
      if (line.size() >= MAX_LINE) {
        throw new IOException("an event-stream line longer than " + MAX_LINE + " bytes");
      }
      line.write(b);
    }
  }
}
