package dev.gatehouse.gateway;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * A config file Gatehouse cannot use: unreadable, not YAML or JSON, or not a valid Gatehouse config.
 *
 * <p>The message is the whole human-readable report, ready for a log line, stderr or {@code /readyz},
 * in one of these forms:
 *
 * <pre>
 * config error at upstreams.files (line 7, column 5): unknown key 'comand' (expected one of: ...)
 * config error at server.port (line 3, column 9): 70000 (expected: 0..65535, 0 = any free port)
 * config error in gatehouse.yaml (line 4, column 3): YAML syntax: mapping values are not allowed here
 * config error in gatehouse.yaml: the file is empty (expected: a map with 'server' and/or 'upstreams')
 * </pre>
 *
 * <p>It never carries a cause: parser exceptions can quote values that came from environment
 * variables, and those are secrets. For the same reason the message names variables, never their
 * values.
 */
public final class ConfigException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String path;
  private final int line;
  private final int column;

  /** A problem with the file as a whole: no path, no position. */
  ConfigException(String source, String detail) {
    super("config error in " + source + ": " + detail);
    this.path = null;
    this.line = 0;
    this.column = 0;
  }

  /**
   * A problem at a position. {@code path} is the dotted key path (empty for the top level, null when
   * only the position is known, as with syntax errors); {@code line} and {@code column} are 1-based,
   * 0 when unknown.
   */
  ConfigException(String source, String path, int line, int column, String detail) {
    super(render(source, path, line, column, detail));
    this.path = path;
    this.line = line;
    this.column = column;
  }

  private static String render(String source, String path, int line, int column, String detail) {
    String where = path == null ? "in " + source : "at " + (path.isEmpty() ? "the top level" : path);
    String position = line > 0 ? " (line " + line + ", column " + column + ")" : "";
    return "config error " + where + position + ": " + detail;
  }

  /** The dotted key path of the offending entry, e.g. {@code upstreams.files.timeouts.call}. */
  public Optional<String> path() {
    return Optional.ofNullable(path);
  }

  /** The 1-based line of the offending entry, when known. */
  public OptionalInt line() {
    return line > 0 ? OptionalInt.of(line) : OptionalInt.empty();
  }

  /** The 1-based column of the offending entry, when known. */
  public OptionalInt column() {
    return column > 0 ? OptionalInt.of(column) : OptionalInt.empty();
  }
}
