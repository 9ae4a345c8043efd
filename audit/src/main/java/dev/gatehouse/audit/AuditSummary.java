package dev.gatehouse.audit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Totals over the steps of a time window: what the console's spend and traffic charts show. Per day
 * (UTC): steps, denials, errors, tokens, cost and the latency's p50/p99; per principal, per model and
 * per tool: steps, tokens and cost.
 *
 * <p>Memory is bounded whatever the window holds: latencies are counted in a log-scale histogram
 * (16 buckets per power of two, so a percentile is the upper bound of its bucket, at most 6.25 % above
 * the exact value), and each breakdown keeps at most {@value #MAX_KEYS} names, the rest counted under
 * {@value #OTHERS}. The gateway's own events (integrity findings, upstream credentials) are not traffic
 * and are left out.
 */
public final class AuditSummary {

  /** The longest window a summary covers. */
  public static final Duration MAX_WINDOW = Duration.ofDays(92);

  static final int MAX_KEYS = 10_000;
  static final String OTHERS = "(others)";
  private static final int TOP = 20;

  private final Instant since;
  private final Instant until;
  private final Map<LocalDate, Totals> days = new TreeMap<>();
  private final Map<String, Totals> principals = new HashMap<>();
  private final Map<String, Totals> models = new HashMap<>();
  private final Map<String, Totals> tools = new HashMap<>();
  private final Totals all = new Totals();

  /**
   * An empty summary of {@code [since, until)}.
   *
   * @throws IllegalArgumentException when {@code until} is not after {@code since} or the window is longer than {@link #MAX_WINDOW}
   */
  public AuditSummary(Instant since, Instant until) {
    if (!until.isAfter(since)) {
      throw new IllegalArgumentException("until: " + until + " is not after since: " + since);
    }
    if (Duration.between(since, until).compareTo(MAX_WINDOW) > 0) {
      throw new IllegalArgumentException("the window from " + since + " to " + until + " is longer than " + MAX_WINDOW.toDays() + " days");
    }
    this.since = since;
    this.until = until;
  }

  /** Counts one step; steps outside the window and the gateway's own events are ignored. */
  public void add(Instant startedAt, AuditKind kind, String subject, String action, String decision, String outcome,
      long durationMicros, long tokensIn, long tokensOut, BigDecimal cost) {
    if (kind == AuditKind.INTEGRITY || kind == AuditKind.UPSTREAM_AUTH || startedAt.isBefore(since) || !startedAt.isBefore(until)) {
      return;
    }
    boolean denied = !"allow".equals(decision);
    boolean failed = !denied && !"ok".equals(outcome);
    LocalDate day = LocalDate.ofInstant(startedAt, ZoneOffset.UTC);
    Totals d = days.computeIfAbsent(day, k -> new Totals());
    d.add(denied, failed, durationMicros, tokensIn, tokensOut, cost);
    all.add(denied, failed, durationMicros, tokensIn, tokensOut, cost);
    bounded(principals, subject.isEmpty() ? "(unauthenticated)" : subject).add(denied, failed, -1, tokensIn, tokensOut, cost);
    if (kind == AuditKind.LLM) {
      bounded(models, action).add(denied, failed, -1, tokensIn, tokensOut, cost);
    } else if (kind == AuditKind.TOOL) {
      bounded(tools, action).add(denied, failed, -1, tokensIn, tokensOut, cost);
    }
  }

  private static Totals bounded(Map<String, Totals> map, String key) {
    Totals t = map.get(key);
    if (t != null) {
      return t;
    }
    if (map.size() >= MAX_KEYS) {
      return map.computeIfAbsent(OTHERS, k -> new Totals());
    }
    t = new Totals();
    map.put(key, t);
    return t;
  }

  /** How many steps were counted. */
  public long steps() {
    return all.steps;
  }

  /**
   * As JSON: {@code since}, {@code until}, {@code totals}, {@code days} (every day of the window in
   * order, empty ones included), and the top {@value #TOP} {@code principals}, {@code models} and
   * {@code tools} by cost, then steps.
   */
  public ObjectNode toJson() {
    ObjectNode out = JsonNodeFactory.instance.objectNode();
    out.put("since", since.toString());
    out.put("until", until.toString());
    out.set("totals", all.toJson(true));
    ArrayNode dayList = out.putArray("days");
    LocalDate last = LocalDate.ofInstant(until.minusNanos(1), ZoneOffset.UTC);
    for (LocalDate day = LocalDate.ofInstant(since, ZoneOffset.UTC); !day.isAfter(last); day = day.plusDays(1)) {
      ObjectNode o = days.getOrDefault(day, new Totals()).toJson(true);
      o.put("day", day.toString());
      dayList.add(o);
    }
    top(out.putArray("principals"), principals, "principal");
    top(out.putArray("models"), models, "model");
    top(out.putArray("tools"), tools, "tool");
    return out;
  }

  private static void top(ArrayNode into, Map<String, Totals> map, String field) {
    List<Map.Entry<String, Totals>> entries = new ArrayList<>(map.entrySet());
    entries.sort(Comparator.<Map.Entry<String, Totals>, BigDecimal>comparing(e -> e.getValue().cost).reversed()
        .thenComparing(Comparator.<Map.Entry<String, Totals>>comparingLong(e -> e.getValue().steps).reversed())
        .thenComparing(Map.Entry::getKey));
    for (Map.Entry<String, Totals> e : entries.subList(0, Math.min(TOP, entries.size()))) {
      ObjectNode o = into.addObject();
      o.put(field, e.getKey());
      o.setAll(e.getValue().toJson(false));
    }
  }

  /** Counts of one day or one name. */
  private static final class Totals {
    long steps;
    long denied;
    long errors;
    long tokensIn;
    long tokensOut;
    BigDecimal cost = BigDecimal.ZERO;
    private int[] latency; // log-scale histogram, only for days and the totals

    void add(boolean isDenied, boolean isError, long micros, long in, long out, BigDecimal c) {
      steps++;
      if (isDenied) {
        denied++;
      }
      if (isError) {
        errors++;
      }
      tokensIn += in;
      tokensOut += out;
      cost = cost.add(c);
      if (micros >= 0) {
        if (latency == null) {
          latency = new int[BUCKETS];
        }
        latency[bucket(micros)]++;
      }
    }

    ObjectNode toJson(boolean withLatency) {
      ObjectNode o = JsonNodeFactory.instance.objectNode();
      o.put("steps", steps);
      o.put("denied", denied);
      o.put("errors", errors);
      o.put("tokens_in", tokensIn);
      o.put("tokens_out", tokensOut);
      o.put("cost_usd", cost.stripTrailingZeros().toPlainString());
      if (withLatency) {
        if (latency == null) {
          o.putNull("p50_ms");
          o.putNull("p99_ms");
        } else {
          o.put("p50_ms", millis(percentile(latency, steps, 0.50)));
          o.put("p99_ms", millis(percentile(latency, steps, 0.99)));
        }
      }
      return o;
    }
  }

  // ---- latency histogram: 16 sub-buckets per power of two of microseconds ----

  private static final int SUB = 16;
  private static final int BUCKETS = SUB + 60 * SUB;

  static int bucket(long micros) {
    long v = Math.max(1, micros);
    int exp = 63 - Long.numberOfLeadingZeros(v); // v in [2^exp, 2^(exp+1))
    if (exp < 4) {
      return (int) v; // 1..15 exactly
    }
    int sub = (int) ((v >>> (exp - 4)) & (SUB - 1));
    return SUB + (exp - 4) * SUB + sub;
  }

  /** The largest value that falls in {@code bucket}. */
  static long upperBound(int bucket) {
    if (bucket < SUB) {
      return bucket;
    }
    int exp = (bucket - SUB) / SUB + 4;
    int sub = (bucket - SUB) % SUB;
    return ((long) (SUB + sub + 1) << (exp - 4)) - 1;
  }

  static long percentile(int[] histogram, long count, double q) {
    long rank = Math.max(1, (long) Math.ceil(q * count));
    long seen = 0;
    for (int i = 0; i < histogram.length; i++) {
      seen += histogram[i];
      if (seen >= rank) {
        return upperBound(i);
      }
    }
    return upperBound(histogram.length - 1);
  }

  private static double millis(long micros) {
    return micros / 1000.0;
  }
}
