package dev.gatehouse.gateway;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The response channel of one POSTed request. Messages related to the request (progress, logs, our
 * requests to the client) queue here until the HTTP thread writes them; the final answer ends it.
 * If the answer comes before anything else, the HTTP thread replies with plain JSON, the cheap path;
 * otherwise it switches to an event stream.
 */
final class PostExchange implements Outbound {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  private final ArrayDeque<ObjectNode> interim = new ArrayDeque<>();
  private ObjectNode result;
  private boolean finished;

  @Override
  public boolean send(ObjectNode message) {
    lock.lock();
    try {
      if (finished) {
        return false;
      }
      interim.addLast(message);
      changed.signalAll();
      return true;
    } finally {
      lock.unlock();
    }
  }

  void complete(ObjectNode answer) {
    lock.lock();
    try {
      result = answer;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** What the HTTP thread should write next. */
  record Batch(List<ObjectNode> interim, ObjectNode result) {}

  /** Waits up to {@code nanos} for something to write; an empty batch means time passed. */
  Batch await(long nanos) throws InterruptedException {
    lock.lock();
    try {
      long left = nanos;
      while (interim.isEmpty() && result == null && left > 0) {
        left = changed.awaitNanos(left);
      }
      List<ObjectNode> out = List.copyOf(interim);
      interim.clear();
      return new Batch(out, result);
    } finally {
      lock.unlock();
    }
  }

  /** No more writes: later messages are refused so callers fall back to the session stream. */
  void finish() {
    lock.lock();
    try {
      finished = true;
    } finally {
      lock.unlock();
    }
  }
}
