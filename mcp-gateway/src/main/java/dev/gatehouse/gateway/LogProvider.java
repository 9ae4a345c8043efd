package dev.gatehouse.gateway;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/**
 * The gateway's SLF4J backend: one line per event on stderr, as text or JSON ({@link LogSettings}),
 * levels per logger name prefix, changed live by {@link #apply}. Small on purpose: no files, no
 * rotation (a supervisor or container runtime collects stderr), no MDC.
 *
 * <p>Text: {@code 2026-12-06T20:44:58.743Z INFO [main] dev.gatehouse.gateway.Gateway - message}.
 * JSON: {@code {"ts":"…","level":"INFO","thread":"main","logger":"…","msg":"…","error":"…"}}, the
 * stack trace of a logged throwable in {@code error}.
 */
public final class LogProvider implements SLF4JServiceProvider {
  private static final Factory FACTORY = new Factory();
  private static final IMarkerFactory MARKERS = new BasicMarkerFactory();
  private static final MDCAdapter MDC = new NOPMDCAdapter();

  /** Applies {@code settings} (with the environment's overrides) to every logger, now and to come. */
  static void apply(LogSettings settings) {
    FACTORY.apply(settings.withEnvironment(System.getenv()));
  }

  @Override
  public ILoggerFactory getLoggerFactory() {
    return FACTORY;
  }

  @Override
  public IMarkerFactory getMarkerFactory() {
    return MARKERS;
  }

  @Override
  public MDCAdapter getMDCAdapter() {
    return MDC;
  }

  @Override
  public String getRequestedApiVersion() {
    return "2.0.99";
  }

  @Override
  public void initialize() {
    FACTORY.apply(LogSettings.defaults().withEnvironment(System.getenv()));
  }

  private static final class Factory implements ILoggerFactory {
    private final Map<String, GatewayLogger> loggers = new ConcurrentHashMap<>();
    private final ReentrantLock out = new ReentrantLock();
    private volatile LogSettings settings = LogSettings.defaults();

    void apply(LogSettings next) {
      settings = next;
      loggers.values().forEach(l -> l.threshold = threshold(l.getName()));
    }

    @Override
    public Logger getLogger(String name) {
      return loggers.computeIfAbsent(name, n -> {
        GatewayLogger l = new GatewayLogger(n, this);
        l.threshold = threshold(n);
        return l;
      });
    }

    /** The level for {@code name}: the longest configured prefix, else the root level. */
    private int threshold(String name) {
      LogSettings s = settings;
      String best = null;
      for (String prefix : s.levels().keySet()) {
        boolean matches = name.equals(prefix) || name.startsWith(prefix) && name.charAt(prefix.length()) == '.';
        if (matches && (best == null || prefix.length() > best.length())) {
          best = prefix;
        }
      }
      return (best == null ? s.level() : s.levels().get(best)).ordinal();
    }

    void write(String logger, Level level, String message, Throwable error) {
      String line = settings.format() == LogSettings.Format.JSON ? json(logger, level, message, error)
          : text(logger, level, message, error);
      // System.err as it is now: a test harness or a launcher may have replaced it.
      PrintStream err = System.err;
      out.lock();
      try {
        err.print(line);
        err.flush();
      } finally {
        out.unlock();
      }
    }

    private static String text(String logger, Level level, String message, Throwable error) {
      StringBuilder b = new StringBuilder(128).append(Instant.now()).append(' ').append(level).append(" [")
          .append(Thread.currentThread().getName()).append("] ").append(logger).append(" - ").append(message).append('\n');
      if (error != null) {
        b.append(stackTrace(error));
      }
      return b.toString();
    }

    private static String json(String logger, Level level, String message, Throwable error) {
      StringWriter w = new StringWriter(160);
      try (JsonGenerator g = Json.MAPPER.getFactory().createGenerator(w)) {
        g.writeStartObject();
        g.writeStringField("ts", Instant.now().toString());
        g.writeStringField("level", level.name());
        g.writeStringField("thread", Thread.currentThread().getName());
        g.writeStringField("logger", logger);
        g.writeStringField("msg", message);
        if (error != null) {
          g.writeStringField("error", stackTrace(error));
        }
        g.writeEndObject();
      } catch (IOException e) {
        return "{\"level\":\"ERROR\",\"msg\":\"a log event could not be written as JSON\"}\n";
      }
      return w.append('\n').toString();
    }

    private static String stackTrace(Throwable t) {
      StringWriter w = new StringWriter();
      t.printStackTrace(new PrintWriter(w));
      return w.toString();
    }
  }

  /** One named logger; its threshold is recomputed when the settings change. */
  private static final class GatewayLogger extends LegacyAbstractLogger {
    private static final long serialVersionUID = 1L;
    private final transient Factory factory;
    volatile int threshold;

    GatewayLogger(String name, Factory factory) {
      this.name = name;
      this.factory = factory;
    }

    private boolean enabled(Level level) {
      return ordinal(level) >= threshold;
    }

    private static int ordinal(Level level) {
      return switch (level) {
        case TRACE -> LogSettings.Level.TRACE.ordinal();
        case DEBUG -> LogSettings.Level.DEBUG.ordinal();
        case INFO -> LogSettings.Level.INFO.ordinal();
        case WARN -> LogSettings.Level.WARN.ordinal();
        case ERROR -> LogSettings.Level.ERROR.ordinal();
      };
    }

    @Override
    public boolean isTraceEnabled() {
      return enabled(Level.TRACE);
    }

    @Override
    public boolean isDebugEnabled() {
      return enabled(Level.DEBUG);
    }

    @Override
    public boolean isInfoEnabled() {
      return enabled(Level.INFO);
    }

    @Override
    public boolean isWarnEnabled() {
      return enabled(Level.WARN);
    }

    @Override
    public boolean isErrorEnabled() {
      return enabled(Level.ERROR);
    }

    @Override
    protected String getFullyQualifiedCallerName() {
      return null;
    }

    @Override
    protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] args, Throwable error) {
      if (!enabled(level)) {
        return;
      }
      String message = args == null || args.length == 0 ? String.valueOf(pattern) : MessageFormatter.basicArrayFormat(pattern, args);
      factory.write(name, level, message, error);
    }
  }
}
