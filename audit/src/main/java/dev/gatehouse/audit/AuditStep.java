package dev.gatehouse.audit;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One step of a chain, as the request pipeline hands it to {@link SqliteAuditStore#append}: a tool, resource,
 * prompt or completion call through either door, a model call, a denial, or an authentication
 * failure.
 *
 * <p>What a step never holds: credentials. The pipeline gives neither {@code Authorization} headers,
 * API keys nor tokens to the store; {@code argsDigest}/{@code resultDigest} and the optional
 * payloads are of a tool's arguments and result (or a model call's messages and reply) only, taken
 * after {@link AuditRedaction} has replaced configured JSON paths. Payloads are present only where
 * a policy turned capture on; by default a step holds digests alone.
 *
 * <p>Validation messages name the stored (snake_case) field. {@code startedAt} is truncated to
 * microseconds, the precision the store keeps, so a step read back equals the step appended.
 *
 * @param chainId the agent task this step belongs to (see {@link #isValidId})
 * @param stepId this step's id, unique in the store; {@link #newId()} makes a time-ordered one
 * @param parentStepId the step that caused this one, e.g. the model step that proposed a tool call
 * @param kind what was called
 * @param source the door it came through: {@code mcp}, {@code execute}, {@code chat}, {@code http}
 * @param subject the principal's subject; empty for an unauthenticated request
 * @param issuer the principal's issuer (token issuer, or the API key's realm); empty if unauthenticated
 * @param tenant the principal's tenant, if any
 * @param action {@code server/tool}, {@code provider/model}, or for an authentication failure the
 *     endpoint ({@code POST /mcp})
 * @param decision {@code allow}, {@code deny}, {@code rate_limited}, {@code budget_exceeded},
 *     {@code unauthenticated} (lower-case words and underscores)
 * @param rule the policy rule that decided, if one did
 * @param reason why, in words, for a denial
 * @param outcome {@code ok}, {@code tool_error}, {@code error}, {@code timeout}, {@code cancelled},
 *     {@code denied}, {@code unauthenticated} (lower-case words and underscores)
 * @param status the JSON-RPC error code or HTTP status; 0 for success
 * @param startedAt when the gateway received the call
 * @param durationMicros how long the gateway took to answer it
 * @param tokensIn prompt tokens of a model call, else 0
 * @param tokensOut completion tokens of a model call, else 0
 * @param costUsd the call's cost in US dollars, exact; zero when unknown or free
 * @param argsDigest {@code sha256:<hex>} of the (redacted) arguments, see {@link #digest}
 * @param resultDigest {@code sha256:<hex>} of the (redacted) result
 * @param argsPayload the (redacted) arguments as JSON text, only when capture is on
 * @param resultPayload the (redacted) result as JSON text, only when capture is on
 * @param toolCallId the OpenAI {@code tool_call_id} the call answered, if any
 */
public record AuditStep(
    String chainId,
    String stepId,
    Optional<String> parentStepId,
    AuditKind kind,
    String source,
    String subject,
    String issuer,
    Optional<String> tenant,
    String action,
    String decision,
    Optional<String> rule,
    Optional<String> reason,
    String outcome,
    int status,
    Instant startedAt,
    long durationMicros,
    long tokensIn,
    long tokensOut,
    BigDecimal costUsd,
    Optional<String> argsDigest,
    Optional<String> resultDigest,
    Optional<String> argsPayload,
    Optional<String> resultPayload,
    Optional<String> toolCallId) implements AuditEntry {

  /** A finished step is its own seal. */
  @Override
  public AuditStep seal() {
    return this;
  }

  /** The longest chain or step id accepted. */
  static final int MAX_ID_LENGTH = 128;

  private static final int MAX_ACTION_LENGTH = 1024;
  /** Subject, issuer, tenant, rule and tool call id are kept up to this long, then clipped (see {@link #clip}). */
  static final int MAX_TEXT_LENGTH = 512;
  private static final int MAX_REASON_LENGTH = 4096;
  private static final Instant LATEST = Instant.parse("+10000-01-01T00:00:00Z");
  /** Buffers from one pool shared by all threads (the default is per thread: fresh on every virtual thread). */
  private static final JsonFactory JSON = JsonFactory.builder()
      .recyclerPool(com.fasterxml.jackson.core.util.JsonRecyclerPools.sharedConcurrentDequePool()).build();

  public AuditStep {
    checkId("chain_id", chainId);
    checkId("step_id", stepId);
    parentStepId = optional(parentStepId);
    parentStepId.ifPresent(p -> checkId("parent_step_id", p));
    if (kind == null) {
      throw new IllegalArgumentException("kind: missing (expected: tool, resource, prompt, completion, llm or auth)");
    }
    checkWord("source", source, "a lower-case name such as mcp, execute, chat or http", true);
    if (subject == null) {
      throw new IllegalArgumentException("subject: missing (expected: the principal's subject, or empty if unauthenticated)");
    }
    if (issuer == null) {
      throw new IllegalArgumentException("issuer: missing (expected: the principal's issuer, or empty if unauthenticated)");
    }
    tenant = optional(tenant);
    if (action == null || action.isBlank() || action.length() > MAX_ACTION_LENGTH) {
      throw new IllegalArgumentException("action: '" + action + "' (expected: server/tool, provider/model or an endpoint, 1 to "
          + MAX_ACTION_LENGTH + " characters)");
    }
    checkWord("decision", decision, "allow, deny, rate_limited, budget_exceeded or unauthenticated", false);
    rule = optional(rule);
    reason = optional(reason);
    checkWord("outcome", outcome, "ok, tool_error, error, timeout, cancelled, denied or unauthenticated", false);
    if (startedAt == null) {
      throw new IllegalArgumentException("started_at: missing (expected: when the gateway received the call)");
    }
    if (startedAt.isBefore(Instant.EPOCH) || !startedAt.isBefore(LATEST)) {
      // Stored as microseconds since the epoch; outside this range a step is a bug, not a call.
      throw new IllegalArgumentException("started_at: " + startedAt + " (expected: between 1970 and 9999)");
    }
    startedAt = startedAt.truncatedTo(ChronoUnit.MICROS);
    if (durationMicros < 0) {
      throw new IllegalArgumentException("duration_micros: " + durationMicros + " (expected: >= 0)");
    }
    if (tokensIn < 0) {
      throw new IllegalArgumentException("tokens_in: " + tokensIn + " (expected: >= 0)");
    }
    if (tokensOut < 0) {
      throw new IllegalArgumentException("tokens_out: " + tokensOut + " (expected: >= 0)");
    }
    if (costUsd == null || costUsd.signum() < 0) {
      throw new IllegalArgumentException("cost_usd: " + costUsd + " (expected: >= 0, BigDecimal.ZERO when unknown)");
    }
    argsDigest = optional(argsDigest);
    argsDigest.ifPresent(d -> checkDigest("args_digest", d));
    resultDigest = optional(resultDigest);
    resultDigest.ifPresent(d -> checkDigest("result_digest", d));
    argsPayload = optional(argsPayload);
    resultPayload = optional(resultPayload);
    toolCallId = optional(toolCallId);
  }

  /** A builder with every optional field empty, numbers 0, cost zero, subject and issuer empty. */
  public static Builder builder() {
    return new Builder();
  }

  /** A copy of this step in a builder, to change a field or two. */
  public Builder toBuilder() {
    return new Builder(this);
  }

  /**
   * Whether {@code id} may be a chain or step id: 1 to {@value #MAX_ID_LENGTH} printable ASCII
   * characters, no spaces. An {@code X-Chain-Id} header that fails this should be refused (400) or
   * replaced by a generated id rather than passed on.
   */
  public static boolean isValidId(String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_ID_LENGTH) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /**
   * A new time-ordered random id (a UUIDv7 string): ids made later sort after earlier ones (to the
   * millisecond), with 74 random bits against collisions. Fit for step ids and generated chain ids.
   */
  public static String newId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long millis = System.currentTimeMillis();
    long msb = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
    long lsb = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(msb, lsb).toString();
  }

  /**
   * {@code sha256:<64 hex digits>} of {@code json} in canonical form: object keys sorted (by UTF-16
   * code units, recursively), no whitespace, arrays, strings and numbers as given. Two objects that
   * differ only in key order digest the same; {@code 1} and {@code 1.0} do not.
   */
  public static String digest(JsonNode json) {
    MessageDigest sha = sha256();
    try (JsonGenerator g = JSON.createGenerator(new DigestOutputStream(OutputStream.nullOutputStream(), sha))) {
      writeCanonical(g, json);
    } catch (IOException e) {
      // A null stream and a digest do not fail; an exotic node might.
      throw new UncheckedIOException("cannot serialise JSON for its digest", e);
    }
    return "sha256:" + HexFormat.of().formatHex(sha.digest());
  }

  private static void writeCanonical(JsonGenerator g, JsonNode n) throws IOException {
    switch (n.getNodeType()) {
      case OBJECT -> {
        List<String> names = new ArrayList<>(n.size());
        n.fieldNames().forEachRemaining(names::add);
        Collections.sort(names);
        g.writeStartObject();
        for (String name : names) {
          g.writeFieldName(name);
          writeCanonical(g, n.get(name));
        }
        g.writeEndObject();
      }
      case ARRAY -> {
        g.writeStartArray();
        for (JsonNode e : n) {
          writeCanonical(g, e);
        }
        g.writeEndArray();
      }
      case STRING -> g.writeString(n.textValue());
      case BOOLEAN -> g.writeBoolean(n.booleanValue());
      case NUMBER -> {
        switch (n.numberType()) {
          case INT, LONG -> g.writeNumber(n.longValue());
          case BIG_INTEGER -> g.writeNumber(n.bigIntegerValue());
          case BIG_DECIMAL -> g.writeNumber(n.decimalValue());
          case FLOAT, DOUBLE -> g.writeNumber(n.doubleValue());
        }
      }
      case BINARY -> g.writeBinary(n.binaryValue());
      case POJO -> g.writeString(n.toString());
      case NULL, MISSING -> g.writeNull();
    }
  }

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  /**
   * {@code s} if it fits in {@code max} characters, else its start with a marker saying how much was
   * cut: a request can carry a value of any length, and its step must still be recorded.
   */
  public static String clip(String s, int max) {
    if (s.length() <= max) {
      return s;
    }
    String marker = "…[clipped " + s.length() + " chars]";
    return s.substring(0, max - marker.length()) + marker;
  }

  private static <T> Optional<T> optional(Optional<T> o) {
    return o == null ? Optional.empty() : o;
  }

  private static void checkId(String field, String id) {
    if (!isValidId(id)) {
      throw new IllegalArgumentException(field + ": '" + id + "' (expected: 1 to " + MAX_ID_LENGTH
          + " printable ASCII characters without spaces)");
    }
  }

  // Lower-case ASCII words; plain loops rather than a regex because this runs on every call.
  private static void checkWord(String field, String value, String expected, boolean allowDigitsAndDash) {
    boolean ok = value != null && !value.isEmpty() && value.length() <= 32 && value.charAt(0) >= 'a' && value.charAt(0) <= 'z';
    for (int i = 1; ok && i < value.length(); i++) {
      char c = value.charAt(i);
      ok = (c >= 'a' && c <= 'z') || c == '_' || (allowDigitsAndDash && ((c >= '0' && c <= '9') || c == '-'));
    }
    if (!ok) {
      throw new IllegalArgumentException(field + ": '" + value + "' (expected: " + expected + ")");
    }
  }

  private static void checkDigest(String field, String digest) {
    boolean ok = digest.length() == 71 && digest.startsWith("sha256:");
    for (int i = 7; ok && i < digest.length(); i++) {
      char c = digest.charAt(i);
      ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    }
    if (!ok) {
      throw new IllegalArgumentException(field + ": '" + digest + "' (expected: sha256: and 64 lower-case hex digits, as AuditStep.digest returns)");
    }
  }

  /**
   * Builds an {@link AuditStep}; {@link #build()} validates. Required: chain id, step id, kind,
   * source, action, decision, outcome, started at.
   */
  public static final class Builder {
    private String chainId;
    private String stepId;
    private Optional<String> parentStepId = Optional.empty();
    private AuditKind kind;
    private String source;
    private String subject = "";
    private String issuer = "";
    private Optional<String> tenant = Optional.empty();
    private String action;
    private String decision;
    private Optional<String> rule = Optional.empty();
    private Optional<String> reason = Optional.empty();
    private String outcome;
    private int status;
    private Instant startedAt;
    private long durationMicros;
    private long tokensIn;
    private long tokensOut;
    private BigDecimal costUsd = BigDecimal.ZERO;
    private Optional<String> argsDigest = Optional.empty();
    private Optional<String> resultDigest = Optional.empty();
    private Optional<String> argsPayload = Optional.empty();
    private Optional<String> resultPayload = Optional.empty();
    private Optional<String> toolCallId = Optional.empty();

    private Builder() {}

    private Builder(AuditStep s) {
      chainId = s.chainId;
      stepId = s.stepId;
      parentStepId = s.parentStepId;
      kind = s.kind;
      source = s.source;
      subject = s.subject;
      issuer = s.issuer;
      tenant = s.tenant;
      action = s.action;
      decision = s.decision;
      rule = s.rule;
      reason = s.reason;
      outcome = s.outcome;
      status = s.status;
      startedAt = s.startedAt;
      durationMicros = s.durationMicros;
      tokensIn = s.tokensIn;
      tokensOut = s.tokensOut;
      costUsd = s.costUsd;
      argsDigest = s.argsDigest;
      resultDigest = s.resultDigest;
      argsPayload = s.argsPayload;
      resultPayload = s.resultPayload;
      toolCallId = s.toolCallId;
    }

    public Builder chainId(String chainId) {
      this.chainId = chainId;
      return this;
    }

    public Builder stepId(String stepId) {
      this.stepId = stepId;
      return this;
    }

    public Builder parentStepId(String parentStepId) {
      this.parentStepId = Optional.of(parentStepId);
      return this;
    }

    public Builder kind(AuditKind kind) {
      this.kind = kind;
      return this;
    }

    public Builder source(String source) {
      this.source = source;
      return this;
    }

    /** The principal's subject and issuer (both empty for an unauthenticated request). */
    public Builder principal(String subject, String issuer) {
      this.subject = subject == null ? null : clip(subject, MAX_TEXT_LENGTH);
      this.issuer = issuer == null ? null : clip(issuer, MAX_TEXT_LENGTH);
      return this;
    }

    public Builder tenant(String tenant) {
      this.tenant = Optional.of(clip(tenant, MAX_TEXT_LENGTH));
      return this;
    }

    public Builder action(String action) {
      this.action = action == null ? null : clip(action, MAX_ACTION_LENGTH);
      return this;
    }

    public Builder decision(String decision) {
      this.decision = decision;
      return this;
    }

    public Builder rule(String rule) {
      this.rule = Optional.of(clip(rule, MAX_TEXT_LENGTH));
      return this;
    }

    public Builder reason(String reason) {
      this.reason = Optional.of(clip(reason, MAX_REASON_LENGTH));
      return this;
    }

    public Builder outcome(String outcome) {
      this.outcome = outcome;
      return this;
    }

    public Builder status(int status) {
      this.status = status;
      return this;
    }

    public Builder startedAt(Instant startedAt) {
      this.startedAt = startedAt;
      return this;
    }

    public Builder durationMicros(long durationMicros) {
      this.durationMicros = durationMicros;
      return this;
    }

    public Builder tokens(long in, long out) {
      this.tokensIn = in;
      this.tokensOut = out;
      return this;
    }

    public Builder costUsd(BigDecimal costUsd) {
      this.costUsd = costUsd;
      return this;
    }

    public Builder argsDigest(String argsDigest) {
      this.argsDigest = Optional.of(argsDigest);
      return this;
    }

    public Builder resultDigest(String resultDigest) {
      this.resultDigest = Optional.of(resultDigest);
      return this;
    }

    public Builder argsPayload(String argsPayload) {
      this.argsPayload = Optional.of(argsPayload);
      return this;
    }

    public Builder resultPayload(String resultPayload) {
      this.resultPayload = Optional.of(resultPayload);
      return this;
    }

    public Builder toolCallId(String toolCallId) {
      this.toolCallId = Optional.of(clip(toolCallId, MAX_TEXT_LENGTH));
      return this;
    }

    public AuditStep build() {
      return new AuditStep(chainId, stepId, parentStepId, kind, source, subject, issuer, tenant, action, decision, rule,
          reason, outcome, status, startedAt, durationMicros, tokensIn, tokensOut, costUsd, argsDigest, resultDigest,
          argsPayload, resultPayload, toolCallId);
    }
  }
}
