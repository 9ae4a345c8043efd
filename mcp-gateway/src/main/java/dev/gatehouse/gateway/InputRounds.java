package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.gatehouse.registry.McpException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Multi round-trip requests (MCP 2026-07-28) in front of upstreams of the session-based revisions. An
 * upstream asks for sampling, elicitation or roots in the middle of a call; a 2026-07-28 client cannot
 * be sent a request, so the gateway answers the client's request with an {@code input_required} result
 * carrying the upstream's requests and an opaque {@code requestState}, keeps the upstream call waiting,
 * and when the client retries with {@code inputResponses} hands them to the upstream and answers the
 * retry with whatever comes next: the call's result, or the upstream's next request.
 *
 * <p>A pending round lives in this gateway's memory, bound to the caller who started it, for at most
 * {@link #TTL_NANOS} between a round's answer and the client's retry; a retry that reaches another
 * replica, or comes too late, is told to send the request again from the start. At most {@link #MAX}
 * rounds wait gateway-wide; beyond that the upstream's request is refused.
 */
final class InputRounds {
  static final long TTL_NANOS = TimeUnit.MINUTES.toNanos(5);
  static final int MAX = 10_000;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** At most this many rounds wait for one caller: nobody can take every round of the gateway. */
  static final int MAX_PER_CALLER = 100;

  private final Map<String, Round> waiting = new ConcurrentHashMap<>();
  /** Waiting rounds by owner; an owner without any has no entry. */
  private final Map<String, java.util.concurrent.atomic.AtomicInteger> perCaller = new ConcurrentHashMap<>();
  private final java.util.function.LongSupplier clock;
  private final long ttlNanos;
  private final int maxPerCaller;
  private volatile long lastSweep;

  InputRounds() {
    this(System::nanoTime, TTL_NANOS, MAX_PER_CALLER);
  }

  /** With its own clock, wait and share per caller, for tests. */
  InputRounds(java.util.function.LongSupplier clock, long ttlNanos, int maxPerCaller) {
    this.clock = clock;
    this.ttlNanos = ttlNanos;
    this.maxPerCaller = maxPerCaller;
    this.lastSweep = clock.getAsLong();
  }

  private void store(Round r) {
    if (waiting.putIfAbsent(r.state, r) == null) {
      perCaller.computeIfAbsent(r.session.ownerKey(), k -> new java.util.concurrent.atomic.AtomicInteger()).incrementAndGet();
    }
  }

  private void drop(Round r) {
    if (waiting.remove(r.state, r)) {
      perCaller.computeIfPresent(r.session.ownerKey(), (k, c) -> c.decrementAndGet() <= 0 ? null : c);
    }
  }

  private boolean full(Round r) {
    if (waiting.containsKey(r.state)) {
      return false;
    }
    java.util.concurrent.atomic.AtomicInteger mine = perCaller.get(r.session.ownerKey());
    return waiting.size() >= MAX || mine != null && mine.get() >= maxPerCaller;
  }

  /** A new round for the request {@code s} serves (nothing is stored until the upstream asks something). */
  Round open(McpSession s, String method, String name) {
    sweep();
    return new Round(s, method, name);
  }

  /** Whether {@code state} was minted here (rather than by a 2026-07-28 upstream, whose retries go to it). */
  static boolean ours(JsonNode state) {
    return state.isTextual() && state.asText().startsWith(PREFIX);
  }

  private static final String PREFIX = "gh1.";

  /** The round {@code state} names, if it is waiting and belongs to {@code owner}. */
  Optional<Round> find(String state, String owner) {
    Round r = waiting.get(state);
    if (r == null || !r.session.ownerKey().equals(owner)) {
      return Optional.empty();
    }
    return Optional.of(r);
  }

  int size() {
    return waiting.size();
  }

  /** Ends rounds whose client did not come back in time: their upstream calls are cancelled. */
  private void sweep() {
    long now = clock.getAsLong();
    if (now - lastSweep < Math.min(ttlNanos, TimeUnit.SECONDS.toNanos(10)) && waiting.size() < MAX) {
      return;
    }
    lastSweep = now;
    for (Round r : List.copyOf(waiting.values())) {
      if (r.expired(now)) {
        drop(r);
        r.expire();
      }
    }
  }

  /** One client request whose upstream call may ask for input, across the client's retries. */
  final class Round {
    final McpSession session;
    final String method;
    final String name;
    private final String state = newState();
    private final ReentrantLock lock = new ReentrantLock();
    // Guarded by lock.
    private final Map<String, ObjectNode> asked = new LinkedHashMap<>();
    private final Map<String, CompletableFuture<JsonNode>> answers = new LinkedHashMap<>();
    private int keys;
    private ObjectNode done;
    private CompletableFuture<ObjectNode> client;
    private JsonNode clientId;
    private long idleSince = clock.getAsLong();

    /** The response stream of the client request now waiting (the first, then each retry) and its progress token. */
    private volatile Outbound relay = m -> false;
    private volatile JsonNode progressToken;

    /** From now on the call's progress and log messages go to {@code to}, progress under {@code token}. */
    void relay(Outbound to, JsonNode token) {
      this.relay = to;
      this.progressToken = token;
    }

    /**
     * Sends a message of the upstream call to the client request now waiting: progress under that
     * request's own token (none: the progress is not sent), log messages as they are.
     */
    boolean send(ObjectNode message) {
      if ("notifications/progress".equals(message.path("method").asText()) && message.get("params") instanceof ObjectNode p) {
        JsonNode token = progressToken;
        if (token == null) {
          return true; // the request now waiting asked for no progress
        }
        p.set("progressToken", token);
      }
      return relay.send(message);
    }

    private Round(McpSession session, String method, String name) {
      this.session = session;
      this.method = method;
      this.name = name;
    }

    String state() {
      return state;
    }

    /** The client did not come back: what the upstream waits for fails, and its call is cancelled. */
    private void expire() {
      List<CompletableFuture<JsonNode>> open;
      lock.lock();
      try {
        open = List.copyOf(answers.values());
        answers.clear();
        asked.clear();
      } finally {
        lock.unlock();
      }
      McpException gone = new McpException(McpException.REQUEST_CANCELLED, "the client did not answer in time");
      open.forEach(f -> f.completeExceptionally(gone));
      session.close();
    }

    private boolean expired(long now) {
      lock.lock();
      try {
        return client == null && now - idleSince > ttlNanos;
      } finally {
        lock.unlock();
      }
    }

    /** The client's first request: answered with the call's result, or with what the upstream asks first. */
    CompletableFuture<ObjectNode> first(JsonNode id, CompletableFuture<ObjectNode> call) {
      CompletableFuture<ObjectNode> out = new CompletableFuture<>();
      ObjectNode interim = null;
      lock.lock();
      try {
        client = out;
        clientId = id;
        if (!asked.isEmpty()) {
          interim = inputRequired(id); // the upstream asked before this request was waiting
        }
      } finally {
        lock.unlock();
      }
      if (interim != null) {
        answerClient(interim);
      }
      call.whenComplete((m, e) -> finished(m != null ? m : JsonRpc.error(id, RpcError.from(e))));
      return out;
    }

    /**
     * A retry with the client's answers: they go to the upstream requests they name; the retry is
     * answered like the first request, or at once with what is still unanswered.
     */
    CompletableFuture<ObjectNode> resume(JsonNode id, JsonNode responses) {
      CompletableFuture<ObjectNode> out = new CompletableFuture<>();
      Map<CompletableFuture<JsonNode>, JsonNode> deliver = new LinkedHashMap<>();
      ObjectNode now = null;
      boolean ended = false;
      lock.lock();
      try {
        if (client != null) {
          client.complete(JsonRpc.error(clientId, RpcError.INVALID_REQUEST,
              "Invalid Request: superseded by a later retry with the same requestState"));
        }
        client = out;
        clientId = id;
        for (Iterator<Map.Entry<String, CompletableFuture<JsonNode>>> it = answers.entrySet().iterator(); it.hasNext(); ) {
          Map.Entry<String, CompletableFuture<JsonNode>> e = it.next();
          JsonNode response = responses.get(e.getKey());
          if (response instanceof ObjectNode) {
            deliver.put(e.getValue(), response);
            asked.remove(e.getKey());
            it.remove();
          }
        }
        if (done != null) {
          now = withId(done, id);
          client = null;
          ended = true;
        } else if (!asked.isEmpty()) {
          now = inputRequired(id); // what the retry did not answer is asked again
          client = null;
          idleSince = clock.getAsLong();
        }
      } finally {
        lock.unlock();
      }
      if (now != null) {
        if (ended) {
          drop(this);
        }
        out.complete(now);
      }
      deliver.forEach(CompletableFuture::complete);
      return out;
    }

    /**
     * The upstream asks the client something ({@code sampling/createMessage}, {@code elicitation/create},
     * {@code roots/list}): the waiting client request is answered {@code input_required}, and the
     * returned future completes with the client's answer from its retry.
     */
    CompletableFuture<JsonNode> ask(String requestMethod, ObjectNode params) {
      sweep();
      if (full(this)) {
        return CompletableFuture.failedFuture(new McpException(McpException.INTERNAL_ERROR,
            "too many requests wait for this client's input on this gateway (at most " + maxPerCaller
                + " per caller, " + MAX + " in all); try again later"));
      }
      CompletableFuture<JsonNode> answer = new CompletableFuture<>();
      ObjectNode interim = null;
      lock.lock();
      try {
        if (done != null) {
          return CompletableFuture.failedFuture(new McpException(McpException.INTERNAL_ERROR, "the request has ended"));
        }
        String key = "input-" + (++keys);
        ObjectNode request = Json.object();
        request.put("method", requestMethod);
        request.set("params", params);
        asked.put(key, request);
        answers.put(key, answer);
        store(this);
        if (client != null) {
          interim = inputRequired(clientId);
        }
      } finally {
        lock.unlock();
      }
      if (interim != null) {
        answerClient(interim);
      }
      return answer;
    }

    /**
     * Ends the request with {@code error} (the client lacks what the upstream needs): the client is
     * answered now, and the upstream call is cancelled.
     */
    void refuse(RpcError error) {
      finished(JsonRpc.error(null, error));
      session.close();
    }

    private void finished(ObjectNode message) {
      CompletableFuture<ObjectNode> c;
      JsonNode id;
      lock.lock();
      try {
        if (done != null) {
          return; // refused before the call ended
        }
        done = message;
        c = client;
        id = clientId;
        client = null;
        // What the upstream still waited for is moot now.
        answers.values().forEach(f -> f.cancel(false));
        answers.clear();
        asked.clear();
      } finally {
        lock.unlock();
      }
      if (c != null) {
        drop(this);
        c.complete(withId(message, id));
      }
    }

    private void answerClient(ObjectNode interim) {
      CompletableFuture<ObjectNode> c;
      lock.lock();
      try {
        c = client;
        client = null;
        idleSince = clock.getAsLong();
      } finally {
        lock.unlock();
      }
      if (c != null) {
        c.complete(interim);
      }
    }

    /** Under lock: the interim result naming every upstream request still open. */
    private ObjectNode inputRequired(JsonNode id) {
      ObjectNode result = Json.object();
      result.put("resultType", "input_required");
      ObjectNode requests = result.putObject("inputRequests");
      asked.forEach((k, v) -> requests.set(k, v.deepCopy()));
      result.put("requestState", state);
      return JsonRpc.result(id, result);
    }
  }

  private static ObjectNode withId(ObjectNode message, JsonNode id) {
    ObjectNode copy = message.deepCopy();
    copy.set("id", id);
    return copy;
  }

  private static String newState() {
    byte[] b = new byte[24];
    RANDOM.nextBytes(b);
    return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
