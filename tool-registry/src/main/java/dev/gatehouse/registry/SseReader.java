package dev.gatehouse.registry;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;

/**
 * Reads a {@code text/event-stream} body event by event (WHATWG server-sent events rules). An event
 * whose data exceeds the limit is skipped without being held: it comes back with {@code oversized} set
 * and empty data, so the caller can fail what it answered.
 */
final class SseReader implements AutoCloseable {
  /** One event; {@code event} defaults to "message". */
  record Event(String id, String event, String data, boolean oversized) {}

  private final BufferedReader in;
  private final int maxChars;
  private final StringBuilder line = new StringBuilder();
  private String lastEventId = "";
  private String retry = "";

  SseReader(InputStream body) {
    this(body, Integer.MAX_VALUE);
  }

  SseReader(InputStream body, int maxChars) {
    this.in = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8), 65536);
    this.maxChars = maxChars;
  }

  /** The last {@code retry} field the server sent, in milliseconds as text; empty if none. */
  String retry() {
    return retry;
  }

  /** One line without its terminator (CR, LF or CRLF), or null at the end; a line past the limit is cut short. */
  private String readLine() throws IOException {
    line.setLength(0);
    int c;
    boolean any = false;
    while ((c = in.read()) != -1) {
      any = true;
      if (c == '\n') {
        return line.toString();
      }
      if (c == '\r') {
        in.mark(1);
        if (in.read() != '\n') {
          in.reset();
        }
        return line.toString();
      }
      if (line.length() <= maxChars) {
        line.append((char) c);
      }
    }
    return any ? line.toString() : null;
  }

  /** The next event, or {@code null} at the end of the stream. */
  Event next() throws IOException {
    StringBuilder data = null;
    boolean oversized = false;
    String event = null;
    String line;
    while ((line = readLine()) != null) {
      if (line.isEmpty()) {
        if (data != null || oversized) {
          return new Event(lastEventId, event == null ? "message" : event, oversized ? "" : data.toString(), oversized);
        }
        event = null;
        continue;
      }
      if (line.charAt(0) == ':') {
        continue; // comment / keep-alive
      }
      int colon = line.indexOf(':');
      String field = colon < 0 ? line : line.substring(0, colon);
      String value = colon < 0 ? "" : line.substring(colon + 1);
      if (value.startsWith(" ")) {
        value = value.substring(1);
      }
      switch (field) {
        case "data" -> {
          if (oversized || value.length() > maxChars || data != null && data.length() + value.length() >= maxChars) {
            oversized = true;
            data = null;
          } else if (data == null) {
            data = new StringBuilder(value);
          } else {
            data.append('\n').append(value);
          }
        }
        case "event" -> event = value;
        case "id" -> {
          if (value.indexOf('\0') < 0) {
            lastEventId = value;
          }
        }
        case "retry" -> {
          if (!value.isEmpty() && value.chars().allMatch(Character::isDigit) && value.length() < 10) {
            retry = value;
          }
        }
        default -> {
          // unknown fields are ignored
        }
      }
    }
    return null;
  }

  String lastEventId() {
    return lastEventId;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
