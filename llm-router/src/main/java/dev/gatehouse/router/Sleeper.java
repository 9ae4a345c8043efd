package dev.gatehouse.router;

import java.time.Duration;

/** Waits between attempts; tests substitute one that only records and advances a fake clock. */
@FunctionalInterface
interface Sleeper {
  Sleeper SYSTEM = d -> Thread.sleep(d.toMillis());

  void sleep(Duration duration) throws InterruptedException;
}
