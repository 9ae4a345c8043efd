package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Stored Responses API responses, for {@code previous_response_id} and {@code GET /v1/responses/<id>}.
 * Each entry keeps its own turn (the chat messages the request added and the answer) and the id it
 * continued, so a long conversation costs its length once, not once per turn; a conversation is
 * rebuilt by walking back.
 *
 * <p>Bounded two ways, by the JSON size of what is kept: in all ({@code maxBytes}), and per principal
 * (an eighth of it), so that no single caller can push out everyone else's conversations; the oldest
 * entries go first, and entries older than {@code maxAge} are gone. A conversation whose earlier turn
 * was evicted can no longer be continued (404, as for an unknown id).
 */
final class ResponseStore {
  static final long MAX_BYTES = 64L << 20;
  static final Duration MAX_AGE = Duration.ofHours(24);
  /** Most turns walked back to rebuild one conversation. */
  static final int MAX_DEPTH = 10_000;

  private record Entry(String owner, String previous, List<ObjectNode> turn, ObjectNode response, long bytes, long at) {}

  private final long maxBytes;
  private final long maxOwnerBytes;
  private final long maxAgeNanos;
  private final ReentrantLock lock = new ReentrantLock();
  /** By id, oldest first. */
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
  private final Map<String, Deque<String>> byOwner = new HashMap<>();
  private final Map<String, Long> ownerBytes = new HashMap<>();
  private long bytes;

  ResponseStore(long maxBytes, Duration maxAge) {
    this.maxBytes = maxBytes;
    this.maxOwnerBytes = Math.max(1, maxBytes / 8);
    this.maxAgeNanos = maxAge.toNanos();
  }

  void put(String owner, String id, String previous, List<ObjectNode> turn, ObjectNode response) {
    long size = response.toString().length();
    for (ObjectNode m : turn) {
      size += m.toString().length();
    }
    if (size > maxOwnerBytes) {
      return; // larger than anyone may keep: not stored, so a continuation is a 404
    }
    Entry e = new Entry(owner, previous, List.copyOf(turn), response, size, System.nanoTime());
    lock.lock();
    try {
      expire();
      Deque<String> mine = byOwner.computeIfAbsent(owner, o -> new ArrayDeque<>());
      while (ownerBytes.getOrDefault(owner, 0L) + size > maxOwnerBytes && !mine.isEmpty()) {
        drop(mine.peekFirst());
      }
      while (bytes + size > maxBytes && !entries.isEmpty()) {
        drop(entries.keySet().iterator().next());
      }
      entries.put(id, e);
      byOwner.computeIfAbsent(owner, o -> new ArrayDeque<>()).addLast(id);
      ownerBytes.merge(owner, size, Long::sum);
      bytes += size;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Appends the conversation that ended with {@code id} (every turn, oldest first) to {@code into}.
   *
   * @return {@code into}, or null when {@code id} is not the owner's or any earlier turn is gone
   */
  List<ObjectNode> conversation(String owner, String id, List<ObjectNode> into) {
    List<List<ObjectNode>> turns = new ArrayList<>();
    lock.lock();
    try {
      expire();
      String at = id;
      for (int depth = 0; at != null; depth++) {
        Entry e = entries.get(at);
        if (e == null || !e.owner().equals(owner) || depth >= MAX_DEPTH) {
          return null;
        }
        turns.add(e.turn());
        at = e.previous();
      }
    } finally {
      lock.unlock();
    }
    for (int i = turns.size() - 1; i >= 0; i--) {
      turns.get(i).forEach(m -> into.add(m.deepCopy()));
    }
    return into;
  }

  /** The stored response, or null when unknown, expired or another principal's. */
  ObjectNode response(String owner, String id) {
    lock.lock();
    try {
      expire();
      Entry e = entries.get(id);
      return e == null || !e.owner().equals(owner) ? null : e.response();
    } finally {
      lock.unlock();
    }
  }

  /** Removes the owner's response; null when there was none. */
  ObjectNode remove(String owner, String id) {
    lock.lock();
    try {
      Entry e = entries.get(id);
      if (e == null || !e.owner().equals(owner)) {
        return null;
      }
      drop(id);
      return e.response();
    } finally {
      lock.unlock();
    }
  }

  int size() {
    lock.lock();
    try {
      return entries.size();
    } finally {
      lock.unlock();
    }
  }

  private void expire() {
    long cutoff = System.nanoTime() - maxAgeNanos;
    while (!entries.isEmpty()) {
      Map.Entry<String, Entry> first = entries.entrySet().iterator().next();
      if (first.getValue().at() - cutoff >= 0) {
        return;
      }
      drop(first.getKey());
    }
  }

  private void drop(String id) {
    Entry e = entries.remove(id);
    if (e == null) {
      return;
    }
    bytes -= e.bytes();
    Deque<String> mine = byOwner.get(e.owner());
    if (mine != null) {
      mine.remove(id);
      if (mine.isEmpty()) {
        byOwner.remove(e.owner());
      }
    }
    long left = ownerBytes.merge(e.owner(), -e.bytes(), Long::sum);
    if (left <= 0) {
      ownerBytes.remove(e.owner());
    }
  }
}
