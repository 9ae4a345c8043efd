package dev.gatehouse.gateway;

import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.registry.ToolRegistry;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The gateway's meters, scraped at {@code /metrics} in Prometheus text format. Labels are
 * low-cardinality only: server, tool (bounded by the catalog), outcome, decision, rule id (bounded by
 * the config), failure reason; never a subject, tenant or argument.
 */
final class GatewayMetrics implements AutoCloseable {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gc = new JvmGcMetrics();
  private final List<Runnable> refreshers = new java.util.concurrent.CopyOnWriteArrayList<>();

  GatewayMetrics() {
    new JvmMemoryMetrics().bindTo(registry);
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
  }

  PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Upstream up/down gauges, one row per configured upstream, refreshed at each scrape. */
  void bindUpstreams(ToolRegistry tools) {
    MultiGauge up = MultiGauge.builder("gatehouse.upstream.up")
        .description("1 when the upstream MCP server is connected, 0 otherwise")
        .register(registry);
    refreshers.add(() -> up.register(tools.status().stream()
        .map(s -> MultiGauge.Row.of(Tags.of("server", s.name(), "transport", s.transport()), s.connected() ? 1 : 0))
        .toList(), true));
  }

  /**
   * A gauge whose value is read at scrape time. Held strongly: Micrometer keeps only a weak reference to
   * a gauge's state by default, and a method reference has no other owner, so the gauge read NaN after
   * the next garbage collection.
   */
  void gauge(String name, String description, Supplier<Number> value) {
    Gauge.builder(name, value, v -> v.get().doubleValue()).description(description).strongReference(true).register(registry);
  }

  /** The meters of one label set, built once: builder lookups on every call cost microseconds. */
  private record CallKey(String kind, String server, String name, String outcome, String source, String revision) {}

  private record CallMeters(Counter calls, Timer total, Timer upstream, Timer overhead) {}

  private final java.util.Map<CallKey, CallMeters> callMeters = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * One finished call of the chain: totals by outcome, and time split into upstream and gateway. A call
   * that never resolved (an unknown name) is labelled {@code -}: names clients make up are not labels.
   */
  void call(Call call, String outcome, long totalNanos, long upstreamNanos) {
    CallMeters m = callMeters.computeIfAbsent(new CallKey(call.target.kind(), call.resolved == null ? "-" : call.resolved.server(),
        nameLabel(call), outcome, call.door, call.revision), this::meters);
    m.calls().increment();
    m.total().record(totalNanos, TimeUnit.NANOSECONDS);
    if (upstreamNanos > 0) {
      m.upstream().record(upstreamNanos, TimeUnit.NANOSECONDS);
    }
    m.overhead().record(Math.max(0, totalNanos - upstreamNanos), TimeUnit.NANOSECONDS);
  }

  private CallMeters meters(CallKey k) {
    String kind = k.kind();
    return new CallMeters(
        Counter.builder("gatehouse.calls")
            .description("Calls through the chain by kind, server, tool/prompt/resource name, outcome, door and MCP revision")
            .tags("kind", kind, "server", k.server(), "name", k.name(), "outcome", k.outcome(), "source", k.source(),
                "revision", k.revision())
            .register(registry),
        Timer.builder("gatehouse.call.duration")
            .description("End-to-end time of a call through the gateway")
            .tags("kind", kind, "server", k.server(), "outcome", k.outcome())
            .publishPercentileHistogram()
            .serviceLevelObjectives(Duration.ofMillis(1), Duration.ofMillis(10), Duration.ofMillis(100), Duration.ofSeconds(1))
            .register(registry),
        Timer.builder("gatehouse.upstream.duration")
            .description("Time spent waiting for the upstream server")
            .tags("kind", kind, "server", k.server())
            .publishPercentileHistogram()
            .register(registry),
        Timer.builder("gatehouse.overhead.duration")
            .description("Time the gateway itself added to a call (total minus upstream)")
            .tags("kind", kind)
            .publishPercentileHistogram()
            .minimumExpectedValue(Duration.ofNanos(1000))
            .maximumExpectedValue(Duration.ofSeconds(1))
            .register(registry));
  }

  private static String nameLabel(Call call) {
    // Resource URIs can be unbounded (templates): count them per server only.
    return call.resolved == null || call.target.kind().equals("resource") ? "-" : call.resolved.name();
  }

  private record DecisionKey(String decision, String rule) {}

  /** Decision counters by (decision, rule): rule ids come from the config, so the map stays small. */
  private final java.util.Map<DecisionKey, Counter> decisions = new java.util.concurrent.ConcurrentHashMap<>();

  void decision(String decision, String rule) {
    decisions.computeIfAbsent(new DecisionKey(decision, rule), k -> Counter.builder("gatehouse.policy.decisions")
        .description("Policy decisions by result and rule")
        .tags("decision", k.decision(), "rule", k.rule())
        .register(registry)).increment();
  }

  /** A model call priced at 0 because its model has no price ({@code model} is provider/model of a configured provider). */
  void unpriced(String model) {
    Counter.builder("gatehouse.model.unpriced.calls").description("Model calls whose model has no price (recorded at cost 0)")
        .tags("model", model).register(registry).increment();
  }

  /**
   * A model call refused by a limit: {@code limit} is {@code tokens_per_minute},
   * {@code budget_usd_per_day} or {@code budget_usd_per_month}, {@code scope} the kind of owner
   * ({@code principal}, {@code key}, {@code tenant}, {@code group}) — never its value, so the series stay few.
   */
  void modelLimited(String rule, String limit, String scope) {
    Counter.builder("gatehouse.model.limit.refusals").description("Model calls refused by a token limit or a budget, by rule, limit and scope")
        .tags("rule", rule, "limit", limit, "scope", scope).register(registry).increment();
  }

  /**
   * A tool-integrity event on {@code server}'s definitions: {@code changed}, {@code flagged:<rule>},
   * {@code approved}, {@code rejected} (rules are a fixed set, servers come from the config).
   */
  void integrityEvent(String event, String server) {
    Counter.builder("gatehouse.integrity.events").description("Tool-integrity events: changed definitions, poisoning findings, decisions")
        .tags("event", event, "server", server).register(registry).increment();
  }

  /** A new MCP session refused: {@code rate_limited}, {@code principal_limit} or {@code global_limit}. */
  void sessionRefused(String reason) {
    Counter.builder("gatehouse.sessions.refused").description("New MCP sessions refused, by reason")
        .tags("reason", reason).register(registry).increment();
  }

  /** An MCP session ended: {@code closed} (by the client or shutdown), {@code idle}, {@code unused}, {@code evicted}, {@code queue_full}. */
  void sessionClosed(String reason) {
    Counter.builder("gatehouse.sessions.closed").description("MCP sessions ended, by reason")
        .tags("reason", reason).register(registry).increment();
  }

  void authFailure(AuthResult.Reason reason) {
    Counter.builder("gatehouse.auth.failures")
        .description("Refused credentials by reason")
        .tags("reason", reason.label())
        .register(registry).increment();
  }

  /**
   * One model call: counted by model and outcome, timed, tokens and cost summed. {@code model} is the
   * served {@code provider/model}, or {@code -} for calls refused or failed before one served them.
   */
  void model(String model, String outcome, long micros, dev.gatehouse.router.Usage usage, java.math.BigDecimal cost) {
    ModelMeters m = modelMeters.computeIfAbsent(new ModelKey(model, outcome), k -> new ModelMeters(
        Counter.builder("gatehouse.model.calls").description("Model calls by provider/model and outcome")
            .tags("model", k.model(), "outcome", k.outcome()).register(registry),
        Timer.builder("gatehouse.model.duration").description("Model call time through the gateway")
            .tags("model", k.model()).publishPercentileHistogram().register(registry),
        Counter.builder("gatehouse.model.tokens").tags("model", k.model(), "direction", "in").register(registry),
        Counter.builder("gatehouse.model.tokens").tags("model", k.model(), "direction", "out").register(registry),
        Counter.builder("gatehouse.model.cost.usd").description("Model spend in USD").tags("model", k.model()).register(registry)));
    m.calls().increment();
    m.duration().record(micros, TimeUnit.MICROSECONDS);
    m.tokensIn().increment(usage.promptTokens());
    m.tokensOut().increment(usage.completionTokens());
    m.cost().increment(cost.doubleValue());
  }

  private record ModelKey(String model, String outcome) {}

  private record ModelMeters(Counter calls, Timer duration, Counter tokensIn, Counter tokensOut, Counter cost) {}

  /** Model meters by (served model, outcome): served models come from the config's providers, so the map stays small. */
  private final java.util.Map<ModelKey, ModelMeters> modelMeters = new java.util.concurrent.ConcurrentHashMap<>();

  void auditCommitted(int steps, long micros) {
    Counter.builder("gatehouse.audit.steps").description("Audit steps committed").register(registry).increment(steps);
    Timer.builder("gatehouse.audit.commit.duration").description("Time to commit one batch of audit steps")
        .publishPercentileHistogram().register(registry).record(micros, TimeUnit.MICROSECONDS);
  }

  void auditFailed(int steps) {
    Counter.builder("gatehouse.audit.failures").description("Audit steps whose commit failed").register(registry).increment(steps);
  }

  /** Prometheus text exposition of every meter. */
  String scrape() {
    refreshers.forEach(Runnable::run);
    return registry.scrape();
  }

  @Override
  public void close() {
    gc.close();
    registry.close();
  }
}
