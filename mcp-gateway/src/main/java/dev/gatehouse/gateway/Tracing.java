package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.policy.Decision;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * OpenTelemetry traces: one span per chain step (every {@link Call} the chain runs), child of the
 * caller's W3C {@code traceparent} (the HTTP header of the {@code /v1} doors, {@code _meta.traceparent} of
 * an MCP request), with the GenAI and MCP semantic-convention attributes and the gateway's own (chain id,
 * door, decision, rule, outcome); the span's context goes on to HTTP upstreams (the {@code traceparent}
 * header and {@code _meta.traceparent}) and to model providers (the header).
 *
 * <p>Off by default, and then {@link #OFF}: no SDK, no span, nothing allocated per call. On, the SDK is
 * built from {@code tracing:} with the standard {@code OTEL_*} variables over it, exporting over OTLP
 * (HTTP or gRPC) in batches.
 */
class Tracing implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Tracing.class);

  /** Tracing off. */
  static final Tracing OFF = new Tracing();

  static final AttributeKey<String> CHAIN = AttributeKey.stringKey("gatehouse.chain_id");
  static final AttributeKey<String> DOOR = AttributeKey.stringKey("gatehouse.door");
  static final AttributeKey<String> DECISION = AttributeKey.stringKey("gatehouse.decision");
  static final AttributeKey<String> RULE = AttributeKey.stringKey("gatehouse.rule");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("gatehouse.outcome");
  static final AttributeKey<String> UPSTREAM = AttributeKey.stringKey("gatehouse.upstream");
  static final AttributeKey<String> MCP_METHOD = AttributeKey.stringKey("mcp.method.name");
  static final AttributeKey<String> MCP_RESOURCE = AttributeKey.stringKey("mcp.resource.uri");
  static final AttributeKey<String> TOOL = AttributeKey.stringKey("gen_ai.tool.name");
  static final AttributeKey<String> PROMPT = AttributeKey.stringKey("gen_ai.prompt.name");
  static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
  static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
  static final AttributeKey<String> PROVIDER = AttributeKey.stringKey("gen_ai.provider.name");
  static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
  static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");

  private static final TextMapGetter<Map<String, String>> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Map<String, String> carrier) {
      return carrier.keySet();
    }

    @Override
    public String get(Map<String, String> carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private final OpenTelemetrySdk sdk;
  private final Tracer tracer;

  private Tracing() {
    this.sdk = null;
    this.tracer = null;
  }

  private Tracing(OpenTelemetrySdk sdk, String version) {
    this.sdk = sdk;
    this.tracer = sdk.getTracer("dev.gatehouse", version);
  }

  /**
   * Tracing as {@code settings} and the environment say: on when {@code tracing.enabled}, or when
   * {@code OTEL_TRACES_EXPORTER} names an exporter; otherwise {@link #OFF}.
   */
  static Tracing create(TracingSettings settings, Map<String, String> env, String version) {
    String exporter = env.get("OTEL_TRACES_EXPORTER");
    boolean on = settings.enabled() || (exporter != null && !exporter.isBlank() && !exporter.equals("none"));
    if (!on || "true".equalsIgnoreCase(env.get("OTEL_SDK_DISABLED"))) {
      return OFF;
    }
    Map<String, String> defaults = new HashMap<>();
    defaults.put("otel.traces.exporter", "otlp");
    defaults.put("otel.metrics.exporter", "none");
    defaults.put("otel.logs.exporter", "none");
    defaults.put("otel.service.name", settings.serviceName());
    defaults.put("otel.exporter.otlp.protocol", settings.protocol());
    settings.endpoint().ifPresent(e -> defaults.put("otel.exporter.otlp.endpoint", e.toString()));
    if (!settings.headers().isEmpty()) {
      defaults.put("otel.exporter.otlp.headers", settings.headers().entrySet().stream()
          .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(",")));
    }
    defaults.put("otel.traces.sampler", "parentbased_traceidratio");
    defaults.put("otel.traces.sampler.arg", Double.toString(settings.sampleRatio()));
    // The variables (and system properties) win over the YAML: defaults are only that.
    OpenTelemetrySdk sdk = AutoConfiguredOpenTelemetrySdk.builder()
        .addPropertiesSupplier(() -> defaults)
        .disableShutdownHook()
        .build()
        .getOpenTelemetrySdk();
    log.info("tracing: on, {} (OTEL_* variables override)", settings);
    return new Tracing(sdk, version);
  }

  boolean on() {
    return tracer != null;
  }

  /**
   * Starts the span of {@code call}, child of {@code traceparent} when the caller sent a valid one;
   * {@link Span#getInvalid()} when tracing is off.
   */
  Span start(Call call, String traceparent) {
    if (tracer == null) {
      return Span.getInvalid();
    }
    Context parent = traceparent == null ? Context.root()
        : W3CTraceContextPropagator.getInstance().extract(Context.root(), Map.of("traceparent", traceparent), GETTER);
    Span span = tracer.spanBuilder(call.target.kind()).setParent(parent).setSpanKind(SpanKind.CLIENT)
        .setStartTimestamp(call.started)
        .setAttribute(CHAIN, call.chainId)
        .setAttribute(DOOR, call.door)
        .startSpan();
    return span;
  }

  /** The W3C traceparent of {@code span}, to send on; null for an invalid (tracing off) span. */
  static String traceparent(Span span) {
    SpanContext c = span.getSpanContext();
    if (!c.isValid()) {
      return null;
    }
    return "00-" + c.getTraceId() + "-" + c.getSpanId() + "-" + c.getTraceFlags().asHex();
  }

  /** Ends {@code call}'s span with what the chain learned: the action, the decision, the outcome, a model's usage. */
  void end(Call call, Outcome outcome) {
    Span span = call.span;
    if (span == null || !span.getSpanContext().isValid()) {
      return;
    }
    Call.Resolved r = call.resolved;
    if (call.target instanceof Target.Model m) {
      String operation = call.embeddings ? "embeddings" : "chat";
      span.updateName(operation + " " + m.model());
      span.setAttribute(OPERATION, operation);
      span.setAttribute(REQUEST_MODEL, m.model());
      if (call.route != null) {
        span.setAttribute(PROVIDER, call.route.provider());
        span.setAttribute(RESPONSE_MODEL, call.route.model());
        span.setAttribute(INPUT_TOKENS, call.usage.promptTokens());
        span.setAttribute(OUTPUT_TOKENS, call.usage.completionTokens());
      }
    } else {
      String method = r != null ? r.method() : switch (call.target) {
        case Target.Tool t -> "tools/call";
        case Target.Resource res -> "resources/read";
        case Target.Prompt p -> "prompts/get";
        case Target.Completion c -> "completion/complete";
        case Target.Task k -> k.method();
        default -> call.target.kind();
      };
      span.setAttribute(MCP_METHOD, method);
      String name = call.target.requested();
      span.updateName(method + " " + name);
      switch (call.target) {
        case Target.Tool t -> {
          span.setAttribute(TOOL, name);
          span.setAttribute(OPERATION, "execute_tool");
        }
        case Target.Prompt p -> span.setAttribute(PROMPT, name);
        case Target.Resource res -> span.setAttribute(MCP_RESOURCE, name);
        default -> { }
      }
      if (r != null && !r.server().equals("-")) {
        span.setAttribute(UPSTREAM, r.server());
      }
    }
    Decision d = call.decision;
    if (d != null) {
      span.setAttribute(DECISION, Access.label(d));
      span.setAttribute(RULE, d.ruleId());
    }
    span.setAttribute(OUTCOME, outcome.label());
    if (!(outcome instanceof Outcome.Done)) {
      span.setAttribute(ERROR_TYPE, outcome.label());
      span.setStatus(StatusCode.ERROR, outcome instanceof Outcome.Refused rf ? rf.message() : outcome.label());
    }
    span.end();
  }

  /** The {@code _meta.traceparent} of an MCP request's params, if it carries one. */
  static String metaTraceparent(JsonNode params) {
    JsonNode t = params == null ? null : params.path("_meta").get("traceparent");
    return t != null && t.isTextual() ? t.asText() : null;
  }

  /** Exports what is left and stops. */
  @Override
  public void close() {
    if (sdk != null) {
      sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
      sdk.close();
    }
  }

  /** For tests: the spans queued so far are exported now. */
  void flush() {
    if (sdk != null) {
      sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
    }
  }
}
