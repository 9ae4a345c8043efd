package dev.gatehouse.gateway;

import dev.gatehouse.audit.AuditKind;
import dev.gatehouse.audit.AuditRedaction;
import dev.gatehouse.audit.AuditSettings;
import dev.gatehouse.audit.AuditEntry;
import dev.gatehouse.audit.AuditStep;
import dev.gatehouse.audit.AuditStore;
import com.fasterxml.jackson.databind.JsonNode;
import dev.gatehouse.identity.AuthResult;
import dev.gatehouse.policy.Decision;
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
    AuditStore store = AuditStore.open(settings, baseDir, new AuditStore.Listener() {
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
    log.info("audit: recording chain steps in {} (durability: {})", store.location(), settings.durability().name().toLowerCase());
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
   * Records one finished call of the chain. With {@code durability: commit} (the default) the future
   * completes when the step is committed; with {@code queued}, once it is queued. It never completes
   * exceptionally: a store failure is logged and counted, and the call's answer still goes out.
   * Redaction, digests and payloads of tool steps are made by the store's writer, off the call's path.
   */
  CompletableFuture<Void> call(Call call, Outcome outcome, long micros) {
    String stepId = AuditStep.newId();
    if (call.target instanceof Target.Model m) {
      return model(call, m, outcome, micros, stepId);
    }
    if (store == null) {
      return CompletableFuture.completedFuture(null);
    }
    Optional<Decision> decision = Optional.ofNullable(call.decision);
    Optional<String> parent = call.toolCallId.flatMap(id -> {
      executions.put(call.chainId, id, stepId); // tool → next model step
      return proposals.get(call.chainId, id); // model → tool
    });
    AuditRedaction redact = redaction;
    boolean keep = decision.filter(d -> d instanceof Decision.Allow).map(d -> capture.matches(d.ruleId())).orElse(false);
    return append(() -> {
      AuditStep.Builder b = common(call, outcome, micros, stepId, decision);
      b.kind(switch (call.target) {
        case Target.Tool t -> AuditKind.TOOL;
        case Target.Task k -> AuditKind.TASK;
        case Target.Prompt p -> AuditKind.PROMPT;
        case Target.Completion c -> AuditKind.COMPLETION;
        default -> AuditKind.RESOURCE;
      });
      b.status(switch (outcome) {
        case Outcome.Done d -> 0;
        case Outcome.Refused r -> McpDispatcher.code(call.target, r);
        case Outcome.Failed f -> f.error().code();
      });
      parent.ifPresent(b::parentStepId);
      call.toolCallId.ifPresent(b::toolCallId);
      JsonNode args = call.resolved != null ? arguments(call.target, call.resolved.params()) : arguments(call.target, call.target.params());
      JsonNode cleanArgs = redact.apply(args);
      b.argsDigest(AuditStep.digest(cleanArgs));
      if (outcome instanceof Outcome.Done d && d.result() != null && !d.result().isNull()) {
        JsonNode cleanResult = redact.apply(d.result());
        b.resultDigest(AuditStep.digest(cleanResult));
        if (keep) {
          b.resultPayload(Json.write(cleanResult));
        }
      }
      if (keep) {
        b.argsPayload(Json.write(cleanArgs));
      }
      return b.build();
    });
  }

  /** What a step's digest covers: a tool's or prompt's arguments, else the request's parameters. */
  private static JsonNode arguments(Target target, JsonNode params) {
    return target instanceof Target.Tool || target instanceof Target.Prompt ? params.path("arguments") : params;
  }

  /** What every step of a call has: chain, principal, door, action, decision, outcome, timing. */
  private static AuditStep.Builder common(Call call, Outcome outcome, long micros, String stepId, Optional<Decision> decision) {
    AuditStep.Builder b = AuditStep.builder()
        .chainId(call.chainId)
        .stepId(stepId)
        .source(call.door)
        .principal(call.principal.subject(), call.principal.issuer())
        .action(call.resolved != null ? call.resolved.label() : AuditStep.clip(call.target.requested(), 512))
        .decision(decision.map(Access::label).orElse(outcome instanceof Outcome.Done ? "allow" : "none"))
        .outcome(outcome.label())
        .startedAt(call.started)
        .durationMicros(micros);
    call.principal.tenant().ifPresent(b::tenant);
    decision.ifPresent(d -> {
      b.rule(d.ruleId());
      b.reason(d.reason());
    });
    switch (outcome) {
      case Outcome.Refused r when decision.filter(d -> !(d instanceof Decision.Allow)).isEmpty() -> b.reason(r.message());
      case Outcome.Failed f -> b.reason(f.model().map(e -> e.code() + ": " + e.getMessage()).orElse(f.error().message()));
      default -> { }
    }
    return b;
  }

  /**
   * A model call: its parent is the tool step that produced the last tool result it was given (tool →
   * model); the tool calls it proposes will get it as parent. Sealed here, not by the writer: agent
   * mode goes on to add to the request it digests.
   */
  private CompletableFuture<Void> model(Call call, Target.Model m, Outcome outcome, long micros, String stepId) {
    if (outcome instanceof Outcome.Done d) {
      for (JsonNode c : d.result().path("choices").path(0).path("message").path("tool_calls")) {
        proposals.put(call.chainId, c.path("id").asText(), stepId);
      }
    }
    if (store == null) {
      return CompletableFuture.completedFuture(null);
    }
    Optional<Decision> decision = Optional.ofNullable(call.decision);
    boolean keep = decision.filter(d -> d instanceof Decision.Allow).map(d -> capture.matches(d.ruleId())).orElse(false);
    AuditStep.Builder b = common(call, outcome, micros, stepId, decision)
        .kind(AuditKind.LLM)
        .action(outcome instanceof Outcome.Done && call.route != null ? call.route.target()
            : call.resolved != null ? call.resolved.label() : AuditStep.clip(m.model(), 512))
        .status(ChatHandler.status(outcome))
        .tokens(call.usage.promptTokens(), call.usage.completionTokens())
        .costUsd(call.costUsd);
    JsonNode cleanRequest = redaction.apply(m.body());
    b.argsDigest(AuditStep.digest(cleanRequest));
    List<String> results = ChatHandler.toolResultIds(m.body());
    for (int i = results.size() - 1; i >= 0; i--) {
      Optional<String> parent = executions.get(call.chainId, results.get(i));
      if (parent.isPresent()) {
        b.parentStepId(parent.get());
        break;
      }
    }
    if (outcome instanceof Outcome.Done d) {
      JsonNode cleanResponse = redaction.apply(d.result());
      b.resultDigest(AuditStep.digest(cleanResponse));
      if (keep) {
        b.resultPayload(Json.write(cleanResponse));
      }
    }
    if (keep) {
      b.argsPayload(Json.write(cleanRequest));
    }
    return append(b.build());
  }

  /**
   * A chat request refused before it became a call (no model, no messages, unreadable): still a step
   * of its chain, naming what was wrong.
   */
  CompletableFuture<Void> invalidRequest(dev.gatehouse.identity.Principal principal, String chainId, String door, String action,
      int status, String reason, JsonNode body) {
    if (store == null) {
      return CompletableFuture.completedFuture(null);
    }
    AuditStep.Builder b = AuditStep.builder()
        .chainId(chainId)
        .stepId(AuditStep.newId())
        .kind(AuditKind.LLM)
        .source(door)
        .principal(principal.subject(), principal.issuer())
        .action(AuditStep.clip(action, 512))
        .decision("none")
        .outcome("invalid")
        .status(status)
        .reason(reason)
        .startedAt(Instant.now().truncatedTo(ChronoUnit.MICROS))
        .durationMicros(0)
        .argsDigest(AuditStep.digest(redaction.apply(body)));
    principal.tenant().ifPresent(b::tenant);
    return append(b.build());
  }

  /** Records a refused credential: who is unknown, so the step names the endpoint and the reason. */
  CompletableFuture<Void> authFailure(String path, String chainId, AuthResult.Failure failure) {
    if (store == null) {
      return CompletableFuture.completedFuture(null);
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
    return append(step);
  }

  /**
   * Records a tool-integrity event: {@code action} names the definition ({@code server/kind/name}),
   * {@code decision} what became of it ({@code changed}, {@code flagged}, {@code approved},
   * {@code rejected}), {@code reason} the diff or findings, clipped; {@code by} who decided it.
   */
  CompletableFuture<Void> integrity(String action, String decision, String reason, String bySubject, String byIssuer) {
    if (store == null) {
      return CompletableFuture.completedFuture(null);
    }
    AuditStep step = AuditStep.builder()
        .chainId("integrity")
        .stepId(AuditStep.newId())
        .kind(AuditKind.INTEGRITY)
        .source("gateway")
        .principal(bySubject, byIssuer)
        .action(AuditStep.clip(action, 512))
        .decision(decision)
        .reason(AuditStep.clip(reason, 2000))
        .outcome(decision)
        .status(0)
        .startedAt(Instant.now().truncatedTo(ChronoUnit.MICROS))
        .durationMicros(0)
        .build();
    return append(step);
  }

  /**
   * Records an upstream credential event ({@code auth:} of an upstream): action {@code <server>/token},
   * decision and outcome the event's ({@code issued}, {@code failed}, {@code refused}), reason its
   * grant and detail. No token value is ever part of it.
   */
  CompletableFuture<Void> upstreamToken(String server, dev.gatehouse.registry.UpstreamTokenEvent event) {
    if (store == null) {
      return CompletableFuture.completedFuture(null);
    }
    AuditStep step = AuditStep.builder()
        .chainId("upstream-auth")
        .stepId(AuditStep.newId())
        .kind(AuditKind.UPSTREAM_AUTH)
        .source("gateway")
        .principal("gateway", "gatehouse:gateway")
        .action(AuditStep.clip(server + "/token", 512))
        .decision(event.outcome())
        .reason(AuditStep.clip(event.grant() + ": " + event.detail(), 2000))
        .outcome(event.outcome())
        .status(0)
        .startedAt(Instant.now().truncatedTo(ChronoUnit.MICROS))
        .durationMicros(0)
        .build();
    return append(step);
  }

  private final dev.gatehouse.audit.UserTokenStore memoryUserTokens = dev.gatehouse.audit.UserTokenStore.memory();

  /** The sealed user tokens (user_consent): beside the chain, or in memory when audit is off. */
  dev.gatehouse.audit.UserTokenStore userTokens() {
    return store == null ? memoryUserTokens : store.userTokens();
  }

  /** The store of approved definitions: beside the chain, or in memory when audit is off. */
  dev.gatehouse.audit.DefinitionStore definitions() {
    return store == null ? memoryDefinitions : store.definitions();
  }

  private final dev.gatehouse.audit.DefinitionStore memoryDefinitions = dev.gatehouse.audit.DefinitionStore.memory();

  /** Hands a step to the store: answered once committed ({@code commit}) or once queued ({@code queued}). */
  private CompletableFuture<Void> append(AuditEntry entry) {
    CompletableFuture<Void> accepted = new CompletableFuture<>();
    CompletableFuture<Void> committed = store.append(entry, accepted).exceptionally(e -> {
      log.error("audit: a chain step could not be stored: {}", e.getMessage());
      return null;
    });
    return settings.durability() == AuditSettings.Durability.COMMIT ? committed : accepted.exceptionally(e -> null);
  }

  @Override
  public void close() {
    if (store != null) {
      store.close();
    }
  }
}
