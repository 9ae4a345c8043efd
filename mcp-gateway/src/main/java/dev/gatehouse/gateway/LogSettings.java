package dev.gatehouse.gateway;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code logging:} section: how much the gateway logs and in which format, on stderr. Applied at
 * start and on every reload; {@code GATEHOUSE_LOG_LEVEL} and {@code GATEHOUSE_LOG_FORMAT} in the
 * environment, when set, win over the file (they also cover what is logged before the file is read).
 *
 * @param level the level of every logger not named in {@code levels}: trace, debug, info, warn, error, off
 * @param format {@code text} (one line per event) or {@code json} (one JSON object per line)
 * @param levels levels of loggers by name prefix, e.g. {@code gatehouse.calls: debug} (every call) or
 *     {@code org.eclipse.jetty: warn}; the longest matching prefix wins
 */
public record LogSettings(Level level, Format format, Map<String, Level> levels) {

  /** Severity, lowest first. */
  public enum Level {
    TRACE, DEBUG, INFO, WARN, ERROR, OFF;

    @JsonCreator
    static Level parse(String s) {
      for (Level l : values()) {
        if (l.name().equalsIgnoreCase(s == null ? "" : s.strip())) {
          return l;
        }
      }
      throw new IllegalArgumentException("'" + s + "' (expected: trace, debug, info, warn, error or off)");
    }
  }

  /** Line format. */
  public enum Format {
    TEXT, JSON;

    @JsonCreator
    static Format parse(String s) {
      for (Format f : values()) {
        if (f.name().equalsIgnoreCase(s == null ? "" : s.strip())) {
          return f;
        }
      }
      throw new IllegalArgumentException("'" + s + "' (expected: text or json)");
    }
  }

  public LogSettings {
    level = level == null ? Level.INFO : level;
    format = format == null ? Format.TEXT : format;
    levels = levels == null ? Map.of() : Map.copyOf(new LinkedHashMap<>(levels));
  }

  @JsonCreator
  static LogSettings fromConfig(@JsonProperty("level") Level level, @JsonProperty("format") Format format,
      @JsonProperty("levels") Map<String, Level> levels) {
    return new LogSettings(level, format, levels);
  }

  /** info, text, no per-logger levels. */
  public static LogSettings defaults() {
    return new LogSettings(null, null, null);
  }

  /** These settings with the environment's {@code GATEHOUSE_LOG_LEVEL} and {@code GATEHOUSE_LOG_FORMAT} applied. */
  LogSettings withEnvironment(Map<String, String> env) {
    Level l = level;
    Format f = format;
    String envLevel = env.get("GATEHOUSE_LOG_LEVEL");
    if (envLevel != null && !envLevel.isBlank()) {
      try {
        l = Level.parse(envLevel);
      } catch (IllegalArgumentException e) {
        System.err.println("gatehouse: ignoring GATEHOUSE_LOG_LEVEL=" + e.getMessage());
      }
    }
    String envFormat = env.get("GATEHOUSE_LOG_FORMAT");
    if (envFormat != null && !envFormat.isBlank()) {
      try {
        f = Format.parse(envFormat);
      } catch (IllegalArgumentException e) {
        System.err.println("gatehouse: ignoring GATEHOUSE_LOG_FORMAT=" + e.getMessage());
      }
    }
    return new LogSettings(l, f, levels);
  }
}
