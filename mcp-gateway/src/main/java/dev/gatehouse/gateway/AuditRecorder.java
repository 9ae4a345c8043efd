package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.policy.Decision;
import dev.gatehouse.registry.Json;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns what the pipeline saw into chain steps and hands them to the {@link AuditStore}: every call
 * through either door (denials included) and every authentication failure. Arguments and results
 * are redacted, then digested; payloads are kept in full only for calls allowed by a rule listed in
 * {@code audit.capture}. Credentials never reach it: the pipeline carries no headers.
 */
final class AuditRecorder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(AuditRecorder.class);

  private final AuditStore store;
  private final GatewayMetrics metrics;
  /** (chain, tool call id) → the model step that proposed it, so the tool step gets it as parent. */
  private final Links proposals = new Links();
  /** (chain, tool call id) → the tool step that ran it, so the next model step gets it as parent. */
  private final Links executions = new Links();

  /** A bounded map of recent links (oldest forgotten first); chains older than that lose no data, only parents. */
  private static final class Links {
    private static final int MAX = 100_000;
    private final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    private final java.util.LinkedHashMap<String, String> map = new java.util.LinkedHashMap<>(1024, 0.75f, false) {
      @Override
      protected boolean removeEldestEntry(java.util.Map.Entry<String, String> eldest) {
        return size() > MAX;
      }
    };

    void put(String chain, String callId, String stepId) {
      lock.lock();
      try {
        map.put(chain + '\u0000' + callId, stepId);
      } finally {
        lock.unlock();
      }
    }

    Optional<String> get(String chain, String callId) {
      lock.lock();
      try {
        return Optional.ofNullable(map.get(chain + '\u0000' + callId));
      } finally {
        lock.unlock();
      }
    }
  }
  private volatile AuditSettings settings;
  private volatile AuditRedaction redaction;
  private volatile dev.gatehouse.policy.GlobList capture;

  private final java.util.concurrent.atomic.AtomicBoolean writable;

  private AuditRecorder(AuditStore store, AuditSettings settings, GatewayMetrics metrics,
      java.util.concurrent.atomic.AtomicBoolean writable) {
    this.store = store;
    this.metrics = metrics;
    this.writable = writable;
    settings(settings);
  }

  /**
   * Opens the store named by {@code settings} (relative paths against {@code baseDir}), or a recorder
   * that records nothing when audit is disabled.
   */
  static AuditRecorder open(AuditSettings settings, Path baseDir, GatewayMetrics metrics) {
    java.util.concurrent.atomic.AtomicBoolean writable = new java.util.concurrent.atomic.AtomicBoolean(true);
    if (!settings.enabled()) {
      return new AuditRecorder(null, settings, metrics, writable);
    }
    Path file = baseDir.resolve(settings.sqlitePath()).normalize();
    AuditStore store = AuditStore.open(file, settings, new AuditStore.Listener() {
      @Override
      public void committed(int steps, long micros) {
        metrics.auditCommitted(steps, micros);
        writable.set(true);
      }

      @Override
      public void failed(int steps, Throwable error) {
        metrics.auditFailed(steps);
        writable.set(false);
      }
    });
    metrics.gauge("gatehouse.audit.queue.depth", "Audit steps waiting to be written", store::queueDepth);
    log.info("audit: recording chain steps in {} (durability: {})", file, settings.durability().name().toLowerCase());
    return new AuditRecorder(store, settings, metrics, writable);
  }

  /** Redaction and capture rules change live; the store itself needs a restart. */
  void settings(AuditSettings next) {
    this.settings = next;
    this.redaction = AuditRedaction.of(next.redact());
    this.capture = dev.gatehouse.policy.GlobList.of(next.capture());
  }

  /** False after a batch failed to commit, until one commits again; true when audit is off. */
  boolean writable() {
    return writable.get();
  }

  Optional<AuditStore> store() {
    return Optional.ofNullable(store);
  }

  /**
   * Records one finished call. With {@code durability: commit} the future completes when the step is
   * committed; with {@code queued}, once it is queued. It never completes exceptionally: a store
   * failure is logged and counted, and the call's answer still goes out.
   */
  CompletableFuture<Void> call(Invocation inv, JsonNode result, Throwable error, String outcome, Instant started, long micros) {
    if (store == null) {
      return CompletableFuture.completedFuture(null);
    }
    Optional<Decision> decision = inv.facts().decision();
    String decided = decision.map(d -> switch (d) {
      case Decision.Allow a -> "allow";
      case Decision.Deny x -> "deny";
      case Decision.Limited l -> "rate_limited";
    }).orElse("allow");
    boolean keep = decision.filter(d -> d instanceof Decision.Allow)
        .map(d -> capture.matches(d.ruleId())).orElse(false);
    JsonNode args = switch (inv.kind()) {
      case TOOL, PROMPT -> inv.params().path("arguments");
      default -> inv.params();
    };
    JsonNode cleanArgs = redaction.apply(args);
    String stepId = AuditStep.newId();
    AuditStep.Builder b = AuditStep.builder()
        .chainId(inv.chainId())
        .stepId(stepId)
        .kind(switch (inv.kind()) {
          case TOOL -> AuditKind.TOOL;
          case RESOURCE -> AuditKind.RESOURCE;
          case PROMPT -> AuditKind.PROMPT;
          case COMPLETION -> AuditKind.COMPLETION;
        })
        .source(inv.source())
        .principal(inv.principal().subject(), inv.principal().issuer())
        .action(inv.server() + "/" + inv.target())
        .decision(decided)
        .outcome(outcome)
        .status(error == null ? 0 : JsonRpc.toMcp(error).code())
        .startedAt(started)
        .durationMicros(micros)
        .argsDigest(AuditStep.digest(cleanArgs));
    inv.principal().tenant().ifPresent(b::tenant);
    inv.toolCallId().ifPresent(id -> {
      b.toolCallId(id);
      proposals.get(inv.chainId(), id).ifPresent(b::parentStepId); // model → tool
      executions.put(inv.chainId(), id, stepId);
    });
    decision.ifPresent(d -> {
      b.rule(d.ruleId());
      b.reason(d.reason());
    });
    if (error != null && decision.filter(d -> !(d instanceof Decision.Allow)).isEmpty()) {
      b.reason(JsonRpc.toMcp(error).getMessage());
    }
    if (result != null && !result.isNull()) {
      JsonNode cleanResult = redaction.apply(result);
      b.resultDigest(AuditStep.digest(cleanResult));
      if (keep) {
        b.resultPayload(Json.write(cleanResult));
      }
    }
    if (keep) {
      b.argsPayload(Json.write(cleanArgs));
    }
    return append(b.build());
  }

  /** One model call, as the chat endpoint saw it. */
  record ModelCall(dev.gatehouse.identity.Principal principal, String chainId, String source, String action,
      Optional<Decision> decision, String outcome, int status, Instant started, long micros, long tokensIn, long tokensOut,
      java.math.BigDecimal costUsd, JsonNode request, JsonNode response, List<String> toolResultIds,
      List<String> proposedCallIds, Optional<String> reason) {}

  /**
   * Records a model call; returns its step id. Its parent is the tool step that produced the last tool
   * result it was given (tool → model); the tool calls it proposes will get it as parent.
   */
  String model(ModelCall m, CompletableFuture<Void>[] committed) {
    String stepId = AuditStep.newId();
    for (String id : m.proposedCallIds()) {
      proposals.put(m.chainId(), id, stepId);
    }
    if (store == null) {
      committed[0] = CompletableFuture.completedFuture(null);
      return stepId;
    }
    boolean keep = m.decision().filter(d -> d instanceof Decision.Allow)
        .map(d -> capture.matches(d.ruleId())).orElse(false);
    JsonNode cleanRequest = redaction.apply(m.request());
    AuditStep.Builder b = AuditStep.builder()
        .chainId(m.chainId())
        .stepId(stepId)
        .kind(AuditKind.LLM)
        .source(m.source())
        .principal(m.principal().subject(), m.principal().issuer())
        .action(m.action())
        .decision(m.decision().map(d -> switch (d) {
          case Decision.Allow a -> "allow";
          case Decision.Deny x -> "deny";
          case Decision.Limited l -> "rate_limited";
        }).orElse("none"))
        .outcome(m.outcome())
        .status(m.status())
        .startedAt(m.started())
        .durationMicros(m.micros())
        .tokens(m.tokensIn(), m.tokensOut())
        .costUsd(m.costUsd())
        .argsDigest(AuditStep.digest(cleanRequest));
    m.principal().tenant().ifPresent(b::tenant);
    m.decision().ifPresent(d -> {
      b.rule(d.ruleId());
      b.reason(d.reason());
    });
    m.reason().ifPresent(b::reason);
    for (int i = m.toolResultIds().size() - 1; i >= 0; i--) {
      Optional<String> parent = executions.get(m.chainId(), m.toolResultIds().get(i));
      if (parent.isPresent()) {
        b.parentStepId(parent.get());
        break;
      }
    }
    if (m.response() != null) {
      JsonNode cleanResponse = redaction.apply(m.response());
      b.resultDigest(AuditStep.digest(cleanResponse));
      if (keep) {
        b.resultPayload(Json.write(cleanResponse));
      }
    }
    if (keep) {
      b.argsPayload(Json.write(cleanRequest));
    }
    committed[0] = append(b.build());
    return stepId;
  }

  /** Records a refused credential: who is unknown, so the step names the endpoint and the reason. */
  void authFailure(String path, String chainId, AuthResult.Failure failure) {
    if (store == null) {
      return;
    }
    AuditStep step = AuditStep.builder()
        .chainId(chainId)
        .stepId(AuditStep.newId())
        .kind(AuditKind.AUTH)
        .source("http")
        .principal("-", "-")
        .action(path)
        .decision("unauthenticated")
        .reason(failure.reason().label() + ": " + failure.description())
        .outcome("unauthenticated")
        .status(failure.status())
        .startedAt(Instant.now().truncatedTo(ChronoUnit.MICROS))
        .durationMicros(0)
        .build();
    append(step); // the refusal goes out at once; its record follows
  }

  private CompletableFuture<Void> append(AuditStep step) {
    CompletableFuture<Void> committed = store.append(step).exceptionally(e -> {
      log.error("audit: step {} of chain {} could not be stored: {}", step.stepId(), step.chainId(), e.toString());
      return null;
    });
    return settings.durability() == AuditSettings.Durability.COMMIT ? committed : CompletableFuture.completedFuture(null);
  }

  @Override
  public void close() {
    if (store != null) {
      store.close();
    }
  }
}
