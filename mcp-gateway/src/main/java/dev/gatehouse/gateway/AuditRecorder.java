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
import java.util.regex.Pattern;
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
  private volatile AuditSettings settings;
  private volatile AuditRedaction redaction;
  private volatile List<Pattern> capture;

  private AuditRecorder(AuditStore store, AuditSettings settings, GatewayMetrics metrics) {
    this.store = store;
    this.metrics = metrics;
    settings(settings);
  }

  /**
   * Opens the store named by {@code settings} (relative paths against {@code baseDir}), or a recorder
   * that records nothing when audit is disabled.
   */
  static AuditRecorder open(AuditSettings settings, Path baseDir, GatewayMetrics metrics) {
    if (!settings.enabled()) {
      return new AuditRecorder(null, settings, metrics);
    }
    Path file = baseDir.resolve(settings.sqlitePath()).normalize();
    AuditStore store = AuditStore.open(file, settings, new AuditStore.Listener() {
      @Override
      public void committed(int steps, long micros) {
        metrics.auditCommitted(steps, micros);
      }

      @Override
      public void failed(int steps, Throwable error) {
        metrics.auditFailed(steps);
      }
    });
    metrics.gauge("gatehouse.audit.queue.depth", "Audit steps waiting to be written", store::queueDepth);
    log.info("audit: recording chain steps in {} (durability: {})", file, settings.durability().name().toLowerCase());
    return new AuditRecorder(store, settings, metrics);
  }

  /** Redaction and capture rules change live; the store itself needs a restart. */
  void settings(AuditSettings next) {
    this.settings = next;
    this.redaction = AuditRedaction.of(next.redact());
    this.capture = next.capture().stream().map(AuditRecorder::glob).toList();
  }

  Optional<AuditStore> store() {
    return Optional.ofNullable(store);
  }

  private static Pattern glob(String g) {
    StringBuilder re = new StringBuilder();
    for (char c : g.toCharArray()) {
      re.append(c == '*' ? ".*" : c == '?' ? "." : Pattern.quote(String.valueOf(c)));
    }
    return Pattern.compile(re.toString());
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
        .map(d -> capture.stream().anyMatch(p -> p.matcher(d.ruleId()).matches())).orElse(false);
    JsonNode args = switch (inv.kind()) {
      case TOOL, PROMPT -> inv.params().path("arguments");
      default -> inv.params();
    };
    JsonNode cleanArgs = redaction.apply(args);
    AuditStep.Builder b = AuditStep.builder()
        .chainId(inv.chainId())
        .stepId(AuditStep.newId())
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
    inv.toolCallId().ifPresent(b::toolCallId);
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
