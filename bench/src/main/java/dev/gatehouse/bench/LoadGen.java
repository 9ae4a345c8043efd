package dev.gatehouse.bench;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives one {@link Workload} against one target.
 *
 * <p><b>Open loop</b> ({@link #openLoop}): operation {@code i} is due at {@code t0 + i / rate}, and is
 * started then whatever is still in flight; its latency is measured from that <em>intended</em> start,
 * not from when it was actually sent. A stall anywhere (the gateway, a GC pause, the generator itself)
 * therefore shows up in the latency of every operation that should have started during it, instead of
 * silently thinning out the load: this is the coordinated-omission correction (Gil Tene's term). How
 * late the generator itself started operations is recorded too, so a saturated generator is visible.
 *
 * <p><b>Closed loop</b> ({@link #closedLoop}): {@code n} workers each start the next operation as soon
 * as the previous one ends, as fast as possible: the saturation throughput. Its latencies are service
 * times and are reported only as context.
 */
final class LoadGen {
  /** Highest latency the histograms track: anything longer is a failure anyway ({@link Http#TIMEOUT_SECONDS}). */
  static final long MAX_NANOS = TimeUnit.SECONDS.toNanos(60);
  /** Parking overshoots by tens of microseconds; the last stretch before a send is spun instead. */
  private static final long SPIN_NANOS = 40_000;

  private LoadGen() {}

  /** One operation of a scenario: one HTTP exchange, or an agent's whole chain of them. */
  interface Workload {
    /** Starts one operation; {@code done} is called exactly once, on any thread. */
    void run(Http http, Done done);
  }

  /** The end of one operation. */
  interface Done {
    /**
     * @param firstByteNanos {@link System#nanoTime()} of the first body byte of the operation's first reply
     * @param error null on success, else a short description (counted, not recorded as a latency)
     */
    void done(long firstByteNanos, String error);
  }

  /** What a phase measured. Histograms are in nanoseconds. */
  record Phase(long ok, long errors, Map<String, Long> errorKinds, Histogram latency, Histogram firstByte, Histogram lateness,
      long wallNanos, long unfinished) {
    double throughput() {
      return ok * 1e9 / wallNanos;
    }
  }

  static Phase openLoop(Http http, Workload w, double rate, long durationNanos) throws InterruptedException {
    Recorder latency = new Recorder(3);
    Recorder firstByte = new Recorder(3);
    Histogram lateness = new Histogram(MAX_NANOS, 3);
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong inFlight = new AtomicLong();
    Map<String, Long> kinds = new ConcurrentHashMap<>();
    double interval = 1e9 / rate;
    long start = System.nanoTime() + 1_000_000;
    long end = start + durationNanos;
    for (long i = 0; ; i++) {
      long intended = start + (long) (i * interval);
      if (intended >= end) {
        break;
      }
      long now = waitUntil(intended);
      lateness.recordValue(Math.min(MAX_NANOS, Math.max(0, now - intended)));
      inFlight.incrementAndGet();
      w.run(http, (fb, error) -> {
        long t = System.nanoTime();
        if (error == null) {
          latency.recordValue(Math.min(MAX_NANOS, t - intended));
          firstByte.recordValue(Math.min(MAX_NANOS, Math.max(0, fb - intended)));
          ok.incrementAndGet();
        } else {
          errors.incrementAndGet();
          kinds.merge(error.length() > 120 ? error.substring(0, 120) : error, 1L, Long::sum);
        }
        inFlight.decrementAndGet();
      });
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Http.TIMEOUT_SECONDS + 5);
    while (inFlight.get() > 0 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(1);
    }
    long wall = System.nanoTime() - start;
    return new Phase(ok.get(), errors.get(), Map.copyOf(kinds), latency.getIntervalHistogram(), firstByte.getIntervalHistogram(),
        lateness, Math.min(wall, durationNanos), inFlight.get());
  }

  /**
   * Paced: {@code clients} clients, each on its own kept-alive connection (see {@link Http#pin}), together
   * sending at {@code rate}: operation {@code i} is due at {@code t0 + i / rate} and belongs to client
   * {@code i mod clients}, so each client sends at {@code rate / clients} with idle gaps in between, the
   * way many agents call a gateway. A client never has two operations in flight: one that is due while its
   * previous one runs is sent when that one ends, and its latency still counts from when it was due
   * (coordinated-omission corrected, as in {@link #openLoop}).
   */
  static Phase paced(List<Http> clients, Workload w, double rate, long durationNanos) throws InterruptedException {
    Recorder latency = new Recorder(3);
    Recorder firstByte = new Recorder(3);
    Histogram lateness = new Histogram(MAX_NANOS, 3);
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    AtomicLong inFlight = new AtomicLong();
    Map<String, Long> kinds = new ConcurrentHashMap<>();
    int n = clients.size();
    Pacer[] pacers = new Pacer[n];
    for (int c = 0; c < n; c++) {
      Http h = clients.get(c);
      pacers[c] = new Pacer() {
        @Override
        void send(long intended) {
          w.run(h, (fb, error) -> {
            long t = System.nanoTime();
            if (error == null) {
              latency.recordValue(Math.min(MAX_NANOS, t - intended));
              firstByte.recordValue(Math.min(MAX_NANOS, Math.max(0, fb - intended)));
              ok.incrementAndGet();
            } else {
              errors.incrementAndGet();
              kinds.merge(error.length() > 120 ? error.substring(0, 120) : error, 1L, Long::sum);
            }
            inFlight.decrementAndGet();
            finished();
          });
        }
      };
    }
    double interval = 1e9 / rate;
    long start = System.nanoTime() + 1_000_000;
    long end = start + durationNanos;
    for (long i = 0; ; i++) {
      long intended = start + (long) (i * interval);
      if (intended >= end) {
        break;
      }
      long now = waitUntil(intended);
      lateness.recordValue(Math.min(MAX_NANOS, Math.max(0, now - intended)));
      inFlight.incrementAndGet();
      pacers[(int) (i % n)].due(intended);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Http.TIMEOUT_SECONDS + 5);
    while (inFlight.get() > 0 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(1);
    }
    long wall = System.nanoTime() - start;
    return new Phase(ok.get(), errors.get(), Map.copyOf(kinds), latency.getIntervalHistogram(), firstByte.getIntervalHistogram(),
        lateness, Math.min(wall, durationNanos), inFlight.get());
  }

  /** One paced client: at most one operation in flight; due ones wait their turn, keeping their due time. */
  private abstract static class Pacer {
    private final java.util.ArrayDeque<Long> waiting = new java.util.ArrayDeque<>();
    private boolean busy;

    abstract void send(long intended);

    void due(long intended) {
      synchronized (this) {
        if (busy) {
          waiting.add(intended);
          return;
        }
        busy = true;
      }
      send(intended);
    }

    void finished() {
      Long next;
      synchronized (this) {
        next = waiting.poll();
        if (next == null) {
          busy = false;
          return;
        }
      }
      send(next);
    }
  }

  static Phase closedLoop(Http http, Workload w, int workers, long durationNanos) throws InterruptedException {
    Recorder latency = new Recorder(3);
    Recorder firstByte = new Recorder(3);
    AtomicLong ok = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    Map<String, Long> kinds = new ConcurrentHashMap<>();
    long start = System.nanoTime();
    long end = start + durationNanos;
    CountDownLatch finished = new CountDownLatch(workers);
    for (int k = 0; k < workers; k++) {
      new Object() {
        void next() {
          long began = System.nanoTime();
          if (began >= end) {
            finished.countDown();
            return;
          }
          w.run(http, (fb, error) -> {
            long t = System.nanoTime();
            if (t <= end) {
              if (error == null) {
                latency.recordValue(Math.min(MAX_NANOS, t - began));
                firstByte.recordValue(Math.min(MAX_NANOS, Math.max(0, fb - began)));
                ok.incrementAndGet();
              } else {
                errors.incrementAndGet();
                kinds.merge(error.length() > 120 ? error.substring(0, 120) : error, 1L, Long::sum);
              }
            }
            if (error != null && t < end) {
              LockSupport.parkNanos(1_000_000); // do not spin on a failing target
            }
            next();
          });
        }
      }.next();
    }
    boolean done = finished.await(durationNanos + TimeUnit.SECONDS.toNanos(Http.TIMEOUT_SECONDS + 5), TimeUnit.NANOSECONDS);
    return new Phase(ok.get(), errors.get(), Map.copyOf(kinds), latency.getIntervalHistogram(), firstByte.getIntervalHistogram(),
        new Histogram(MAX_NANOS, 3), durationNanos, done ? 0 : finished.getCount());
  }

  private static long waitUntil(long deadline) {
    long now;
    while ((now = System.nanoTime()) < deadline) {
      long left = deadline - now;
      if (left > SPIN_NANOS) {
        LockSupport.parkNanos(left - SPIN_NANOS);
      } else {
        Thread.onSpinWait();
      }
    }
    return now;
  }
}
